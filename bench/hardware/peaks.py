"""Spec-sheet peak FLOP/s of known GPUs (FP32; dense TF32, BF16, FP16 Tensor Core), by NVML name.

The figures are NVIDIA's published boost-clock peaks; a real card under a power or thermal limit
runs slower, which is why `bench calibrate` measures what is achievable. Datasheets quote Tensor
Core figures "with sparsity" (2:4 structured); the dense peak, which dense training can reach at
best, is half of that, and that half is what is stored here. `None`: the GPU has no such path
(Pascal, Volta and Turing have no TF32 or BF16 Tensor Cores; `bench.hardware.mfu.spec_peak`
then judges TF32-allowed work against the FP32 peak). FP16 is the Tensor Core figure with FP32
accumulate — what mixed precision uses — where the GPU has FP16 Tensor Cores (Volta on), and
Pascal's P100 FP16 ("half precision") rate of its CUDA cores.

A GPU is matched by tokens of its NVML name (upper-cased, split on anything not a letter or
digit): every `match` token present and no `exclude` token present; more specific entries come
first. Token matching keeps "L4" from matching "L40S" and "RTX 3090" from "RTX 3090 Ti".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.hardware.precision import PRECISIONS

T = 1e12
DTYPES = PRECISIONS  # a peak for each precision a trial can run


@dataclass(frozen=True, slots=True)
class GpuPeak:
    """Peak FLOP/s of one GPU model; `source` names the document the numbers come from."""

    model: str
    match: tuple[str, ...]
    fp32: float
    tf32: float | None
    bf16: float | None
    source: str
    exclude: tuple[str, ...] = ()
    fp16: float | None = None

    def flops_per_s(self, dtype: str) -> float | None:
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
        value: float | None = getattr(self, dtype)
        return value


_H100 = "NVIDIA H100 Tensor Core GPU datasheet"
_H200 = "NVIDIA H200 Tensor Core GPU datasheet"
PEAKS: tuple[GpuPeak, ...] = (
    # H100 datasheet: PCIe FP32 51 TFLOPS, TF32 756*, BF16 1,513*, FP16 1,513* (* with sparsity).
    GpuPeak("H100 PCIe", ("H100", "PCIE"), 51 * T, 378 * T, 756.5 * T, _H100, fp16=756.5 * T),
    # H100 datasheet: NVL FP32 60 TFLOPS, TF32 835*, BF16 1,671*, FP16 1,671*.
    GpuPeak("H100 NVL", ("H100", "NVL"), 60 * T, 417.5 * T, 835.5 * T, _H100, fp16=835.5 * T),
    # H100 datasheet: SXM FP32 67 TFLOPS, TF32 989*, BF16 1,979*, FP16 1,979*
    # (NVML: "NVIDIA H100 80GB HBM3").
    GpuPeak("H100 SXM", ("H100",), 67 * T, 494.5 * T, 989.5 * T, _H100, fp16=989.5 * T),
    # H200 datasheet: NVL FP32 60 TFLOPS, TF32 835*, BF16 1,671*, FP16 1,671*.
    GpuPeak("H200 NVL", ("H200", "NVL"), 60 * T, 417.5 * T, 835.5 * T, _H200, fp16=835.5 * T),
    # H200 datasheet: SXM FP32 67 TFLOPS, TF32 989*, BF16 1,979*, FP16 1,979*.
    GpuPeak("H200 SXM", ("H200",), 67 * T, 494.5 * T, 989.5 * T, _H200, fp16=989.5 * T),
    # A100 datasheet (40 GB and 80 GB, SXM and PCIe alike): FP32 19.5 TFLOPS,
    # TF32 156 | 312*, BF16 312 | 624*, FP16 312 | 624*.
    GpuPeak(
        "A100",
        ("A100",),
        19.5 * T,
        156 * T,
        312 * T,
        "NVIDIA A100 Tensor Core GPU datasheet",
        fp16=312 * T,
    ),
    # V100S PCIe datasheet: single precision 16.4 TFLOPS, tensor performance 130 TFLOPS.
    GpuPeak("V100S PCIe", ("V100S",), 16.4 * T, None, None, "NVIDIA V100S datasheet", fp16=130 * T),
    # V100 datasheet: single precision PCIe 14 TFLOPS, SXM2 15.7 TFLOPS; tensor performance
    # PCIe 112 TFLOPS, SXM2 125 TFLOPS.
    GpuPeak(
        "V100 PCIe", ("V100", "PCIE"), 14 * T, None, None, "NVIDIA V100 datasheet", fp16=112 * T
    ),
    GpuPeak("V100 SXM2", ("V100",), 15.7 * T, None, None, "NVIDIA V100 datasheet", fp16=125 * T),
    # Ada Lovelace architecture whitepaper, RTX 4090: FP32 82.6 TFLOPS, TF32 Tensor 82.6/165.2,
    # BF16 and FP16 Tensor with FP32 accumulate 165.2/330.4 (dense/sparse).
    GpuPeak(
        "GeForce RTX 4090",
        ("RTX", "4090"),
        82.6 * T,
        82.6 * T,
        165.2 * T,
        "NVIDIA Ada Lovelace GPU architecture whitepaper",
        exclude=("D", "LAPTOP"),
        fp16=165.2 * T,
    ),
    # Ampere GA102 whitepaper, RTX 3090: FP32 35.6 TFLOPS, TF32 Tensor 35.6/71,
    # BF16 and FP16 Tensor with FP32 accumulate 71/142 (dense/sparse).
    GpuPeak(
        "GeForce RTX 3090",
        ("RTX", "3090"),
        35.6 * T,
        35.6 * T,
        71 * T,
        "NVIDIA Ampere GA102 GPU architecture whitepaper",
        exclude=("TI", "LAPTOP"),
        fp16=71 * T,
    ),
    # Tesla P100 datasheet: single precision PCIe 9.3 TFLOPS, NVLink (SXM2) 10.6 TFLOPS; half
    # precision PCIe 18.7 TFLOPS, NVLink 21.2 TFLOPS (Pascal: no Tensor Cores).
    GpuPeak(
        "P100 PCIe",
        ("P100", "PCIE"),
        9.3 * T,
        None,
        None,
        "NVIDIA Tesla P100 datasheet",
        fp16=18.7 * T,
    ),
    GpuPeak(
        "P100 SXM2", ("P100",), 10.6 * T, None, None, "NVIDIA Tesla P100 datasheet", fp16=21.2 * T
    ),
    # T4 datasheet: single precision 8.1 TFLOPS, mixed precision (FP16/FP32) 65 TFLOPS (Turing:
    # no TF32 or BF16 Tensor Cores).
    GpuPeak("T4", ("T4",), 8.1 * T, None, None, "NVIDIA T4 datasheet", fp16=65 * T),
    # L4 datasheet: FP32 30.3 TFLOPS, TF32 120*, BF16 242*, FP16 242*.
    GpuPeak(
        "L4",
        ("L4",),
        30.3 * T,
        60 * T,
        121 * T,
        "NVIDIA L4 Tensor Core GPU datasheet",
        fp16=121 * T,
    ),
)


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^A-Z0-9]+", name.upper()) if t}


def lookup(gpu_name: str) -> GpuPeak | None:
    """The table entry for an NVML GPU name, or None if the GPU is not in the table."""
    tokens = _tokens(gpu_name)
    for peak in PEAKS:
        if all(t in tokens for t in peak.match) and not any(t in tokens for t in peak.exclude):
            return peak
    return None


def spec_peak_flops(gpu_name: str, dtype: str = "fp32") -> float | None:
    """Spec-sheet dense peak FLOP/s of `gpu_name` for `dtype`; None if unknown or unsupported."""
    peak = lookup(gpu_name)
    return None if peak is None else peak.flops_per_s(dtype)
