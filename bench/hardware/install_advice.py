"""Which GPU install fits this machine: one pure decision over the driver and the GPUs' compute
capabilities, as NVML reports them, so that `bench doctor` names the extra before anyone
downloads gigabytes of the wrong CUDA.

The facts it rests on (checked against the packages' own metadata and documentation):

- torch 2.13.0 on PyPI for Linux x86_64 is a CUDA 13 build: its wheel requires
  `cuda-toolkit==13.0.3`, `nvidia-cudnn-cu13`, `nvidia-nccl-cu13` (the wheel's METADATA).
  PyTorch also publishes CUDA 12.6 wheels of 2.13 on its own index (RELEASE.md, "Release
  Compatibility Matrix": stable CUDA 12.6 and 13.0). Their kernels (RELEASE.md, "PyTorch CUDA
  Support Matrix", Linux x86): CUDA 12.6.3 for compute capability 5.0 (Maxwell), 6.0, 7.0, 7.5,
  8.0, 8.6, 9.0 (Hopper); CUDA 13.0 for 7.5 (Turing) up to Blackwell, nothing older.
- A driver runs CUDA 13 from branch R580 and CUDA 12 from R525 (NVIDIA's minor-version
  compatibility; JAX's installation guide: "the driver version must be >= 525 for CUDA 12 on
  Linux, and >= 580 for CUDA 13"). JAX's CUDA 13 plugin needs compute capability ≥ 7.5, its
  CUDA 12 plugin ≥ 5.2.
- `tensorflow[and-cuda]` pulls CUDA 12 wheels (`nvidia-*-cu12`, `nvidia-nccl-cu12` among them),
  so it shares no venv with a CUDA 13 torch (`bench.hardware.venv` says what goes wrong).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: The oldest driver branch (Linux) that runs a CUDA major version.
CUDA_DRIVER_MIN = {12: 525, 13: 580}
CUDA13_MIN_CC = (7, 5)  # CUDA 13 dropped Maxwell, Pascal and Volta
CU126_MIN_CC = (5, 0)  # torch 2.13's CUDA 12.6 wheels: Maxwell 5.0 …
CU126_MAX_MAJOR = 9  # … to Hopper 9.x; no Blackwell kernels (CUDA 13 has them)
TORCH_CU126 = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
GPU_TORCH = "pip install -e '.[gpu-torch]'"
GPU_TF = "pip install -e '.[gpu-tf]'"
TF_VENV = f"TensorFlow in a venv of its own: {GPU_TF} (CUDA 12 wheels, driver ≥ 525)"

Capability = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Advice:
    """Which install fits: `kind` is "cpu", "cuda13", "cu126" or "none"; `text` the one line."""

    kind: str
    text: str


def driver_branch(driver: str | None) -> int | None:
    """ "580.65.06" → 580; None for None or text that does not start with a number."""
    found = re.match(r"\s*(\d+)", driver or "")
    return int(found.group(1)) if found else None


def _cc(capability: Capability) -> str:
    return f"{capability[0]}.{capability[1]}"


def install_advice(driver: str | None, capabilities: Sequence[Capability | None]) -> Advice:
    """The install line for a machine with this driver and one compute capability per GPU
    (None where NVML could not read it)."""
    if not capabilities:
        return Advice(
            "cpu",
            "no NVIDIA GPU: the CPU extras fit (pip install -e '.[torch,keras,jax]')",
        )
    known = [c for c in capabilities if c is not None]
    lowest, highest = (min(known), max(known)) if known else (None, None)
    branch = driver_branch(driver)
    if lowest is not None and lowest < CU126_MIN_CC:
        return Advice(
            "none",
            f"a GPU of compute capability {_cc(lowest)}: no torch 2.13 build runs on it "
            f"(CUDA 12.6 needs ≥ {_cc(CU126_MIN_CC)}, CUDA 13 ≥ {_cc(CUDA13_MIN_CC)}); hide it "
            "with CUDA_VISIBLE_DEVICES, or use the CPU extras",
        )
    if branch is not None and branch < CUDA_DRIVER_MIN[12]:
        return Advice(
            "none",
            f"driver {driver} is older than any CUDA 12 or 13 build supports (CUDA 12 needs "
            f"≥ {CUDA_DRIVER_MIN[12]}, CUDA 13 ≥ {CUDA_DRIVER_MIN[13]}): update the NVIDIA "
            "driver, or use the CPU extras",
        )
    return _cuda_advice(driver, branch, lowest, highest)


def _cuda_advice(
    driver: str | None, branch: int | None, lowest: Capability | None, highest: Capability | None
) -> Advice:
    old_gpu = lowest is not None and lowest < CUDA13_MIN_CC
    new_gpu = highest is not None and highest[0] > CU126_MAX_MAJOR
    old_driver = branch is not None and branch < CUDA_DRIVER_MIN[13]
    cuda13 = f"{GPU_TORCH} (torch 2.13 for CUDA 13; with JAX add 'jax[cuda13]'); {TF_VENV}"
    cu126 = (
        f"{TORCH_CU126}, then {GPU_TORCH} (it keeps that torch; with JAX add 'jax[cuda12]'); "
        f"{TF_VENV}"
    )
    if old_gpu and new_gpu:
        return Advice(
            "none",
            f"GPUs of compute capability {_cc(lowest)} and {_cc(highest)}: no one torch build "
            "has kernels for both (CUDA 12.6 stops at 9.0, CUDA 13 starts at 7.5); run each "
            "kind in its own venv, the others hidden with CUDA_VISIBLE_DEVICES",
        )
    if new_gpu and old_driver:
        return Advice(
            "none",
            f"driver {driver} < {CUDA_DRIVER_MIN[13]}, and a GPU of compute capability "
            f"{_cc(highest)} has kernels only in torch's CUDA 13 build: update the NVIDIA driver "
            f"to ≥ {CUDA_DRIVER_MIN[13]}, then {GPU_TORCH}",
        )
    if old_gpu:
        why = (
            f"a GPU of compute capability {_cc(lowest)} < {_cc(CUDA13_MIN_CC)} (CUDA 13 dropped it)"
        )
        return Advice("cu126", f"{why}: {cu126}")
    if old_driver:
        why = f"driver {driver} < {CUDA_DRIVER_MIN[13]} runs CUDA 12, not CUDA 13"
        return Advice("cu126", f"{why}: {cu126}")
    if branch is None:
        return Advice(
            "cuda13",
            f"driver version unknown: with driver ≥ {CUDA_DRIVER_MIN[13]}, {cuda13}; with an "
            f"older one, {TORCH_CU126} first",
        )
    gpus = "" if lowest is None else f", compute capability ≥ {_cc(lowest)}"
    return Advice("cuda13", f"driver {driver} (≥ {CUDA_DRIVER_MIN[13]}){gpus}: {cuda13}")


def plugin_cuda_major(plugin: str) -> int | None:
    """ "jax-cuda13-plugin" → 13; None for a plugin that is not a CUDA one (ROCm)."""
    found = re.match(r"jax-cuda(\d+)-", plugin)
    return int(found.group(1)) if found else None


def plugin_driver_gap(plugins: Sequence[str], driver_cuda: str | None) -> str:
    """Why the driver is too old for an installed JAX CUDA plugin ("" if it is not, or unknown);
    `driver_cuda` is the CUDA version the driver supports ("12.4")."""
    found = re.match(r"\s*(\d+)", driver_cuda or "")
    if not found:
        return ""
    supports = int(found.group(1))
    for plugin in plugins:
        major = plugin_cuda_major(plugin)
        if major is not None and major > supports:
            need = CUDA_DRIVER_MIN.get(major)
            return f"the driver supports CUDA {driver_cuda}, {plugin} needs CUDA {major}" + (
                f" (driver ≥ {need})" if need else ""
            )
    return ""
