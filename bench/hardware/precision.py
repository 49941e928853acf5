"""Precision and autotuning as sweep dimensions: what each value means, which device can run
it, and the environment a trial's child needs for it.

Precisions ([sweep] precisions): `fp32` is strict (TF32 off in every framework), `tf32` allows
TF32 Tensor Cores for float32 matmuls and convolutions, `bf16` and `fp16` are automatic mixed
precision (float32 weights, bfloat16 / float16 compute, loss scaling for fp16). The runners apply
them (`bench.runners.torch_precision`, `bench.runners.keras_precision`); this module says, at
plan time and without a framework, where one cannot run: TF32 is an NVIDIA Tensor Core format
from Ampere (compute capability 8.0) on, so not on a CPU, MPS or an older GPU; bfloat16 Tensor
Cores too start with Ampere (`torch.cuda.is_bf16_supported()` is False below 8.0 unless
emulation is asked for); the NumPy runner computes in float32 only. A GPU whose compute
capability is unknown (no NVML: ROCm through torch) is planned, and the framework decides.

Autotuning ([sweep] autotune): `default` leaves each framework as it ships (torch:
`cudnn.benchmark` off; TensorFlow: cuDNN autotuning on, `TF_CUDNN_USE_AUTOTUNE` unset means
true; XLA: `--xla_gpu_autotune_level` 4, its `DefaultDebugOptionsIgnoringFlags`); `off` and
`on` set them all. TensorFlow and XLA read their settings from the environment when they start
(`autotune_env`, applied by `bench.launchers.local.child_env`); torch's flag is set by the
runner. Autotuning picks GPU kernels (cuDNN, cuBLAS, XLA's GEMM fusions); on a CPU there is
nothing it changes, so `off`/`on` are planned as skipped there.
"""

from __future__ import annotations

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
AUTOTUNES = ("default", "off", "on")
#: The first compute capability with TF32 and BF16 Tensor Cores (Ampere, sm_80).
AMPERE = (8, 0)
#: `--xla_gpu_autotune_level` for `on`: XLA's own default level (it autotunes everything).
XLA_AUTOTUNE_ON = 4


def precision_skip(
    precision: str, framework: str, device_kind: str, capability: tuple[int, int] | None
) -> str:
    """Why a trial of `precision` cannot run here ("" when it can)."""
    if framework == "numpy" and precision != "fp32":
        return f"the numpy runner computes in float32 only; {precision} is not run"
    if precision == "tf32" and device_kind != "cuda":
        return (
            f"TF32 is an NVIDIA Tensor Core format (Ampere and later); a {device_kind} device "
            "has none: use fp32"
        )
    if precision in ("tf32", "bf16") and capability is not None and capability < AMPERE:
        major, minor = capability
        return (
            f"{precision.upper()} needs Tensor Cores of compute capability 8.0 (Ampere) or "
            f"later; this GPU has {major}.{minor}: use fp32 or fp16"
        )
    return ""


def autotune_skip(autotune: str, device_kind: str) -> str:
    """Why a trial with `autotune` is not run here ("" when it is)."""
    if autotune != "default" and device_kind == "cpu":
        return (
            f"autotune = {autotune} sets GPU kernel autotuning (cuDNN, XLA GPU); on a CPU it "
            "changes nothing, so only autotune = default runs there"
        )
    return ""


def autotune_env(autotune: str, xla_flags: str | None) -> dict[str, str]:
    """The environment variables a child needs for `autotune` (read by TensorFlow and XLA when
    they start): none for `default`; `TF_CUDNN_USE_AUTOTUNE` and `--xla_gpu_autotune_level`
    (appended to the inherited `xla_flags`) for `off` and `on`."""
    if autotune == "default":
        return {}
    on = autotune == "on"
    level = f"--xla_gpu_autotune_level={XLA_AUTOTUNE_ON if on else 0}"
    return {
        "TF_CUDNN_USE_AUTOTUNE": "1" if on else "0",
        "XLA_FLAGS": " ".join(filter(None, [xla_flags, level])),
    }
