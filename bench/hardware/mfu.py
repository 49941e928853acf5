"""Achieved FLOP/s and model FLOPs utilisation (MFU) of a trial's steady epochs.

    achieved = flops_per_sample × samples_per_epoch / steady_epoch_s
    mfu      = achieved / peak            (a fraction, 0.42 = 42 %)

`flops_per_sample` is the analytic training cost (forward + backward, multiply-add = 2 FLOPs)
from the model spec, so MFU counts only the model's useful arithmetic — not recomputation,
optimizer updates or data movement. The peak is either what `bench calibrate` measured on this
host with the same framework and device (`calibrated_peak`), or a spec-sheet figure for a known
GPU (`bench.hardware.peaks.spec_peak_flops`). Every function returns None, not 0, when an input is
missing or not positive, so that an empty CSV cell means "not measurable".
"""

from __future__ import annotations

from typing import Any


def _positive(*values: float | None) -> bool:
    return all(v is not None and v > 0 for v in values)


def achieved_flops_per_s(
    flops_per_sample: float | None, samples_per_epoch: float | None, steady_epoch_s: float | None
) -> float | None:
    """Useful FLOP/s over a steady epoch: FLOPs of the epoch's samples over its wall time."""
    if not _positive(flops_per_sample, samples_per_epoch, steady_epoch_s):
        return None
    assert flops_per_sample and samples_per_epoch and steady_epoch_s
    return flops_per_sample * samples_per_epoch / steady_epoch_s


def mfu(achieved: float | None, peak: float | None) -> float | None:
    """`achieved / peak` as a fraction; None if either is missing or not positive."""
    if not _positive(achieved, peak):
        return None
    assert achieved and peak
    return achieved / peak


def calibrated_peak(
    calibration: dict[str, Any] | None,
    framework: str,
    device: str,
    dtype: str = "fp32",
    device_name: str | None = None,
) -> float | None:
    """The best matmul FLOP/s `bench calibrate` measured for this framework, device and dtype.

    `calibration` is a document from `bench.hardware.calibrate.load_latest`; the best over all
    matrix sizes is taken. With `device_name`, rows measured on a differently named device (the
    GPUs were reordered or swapped since) are ignored. None when nothing matches.
    """
    if not calibration:
        return None
    best = [
        row["best_flops_per_s"]
        for row in calibration.get("rows", [])
        if row.get("status") == "ok"
        and row.get("framework") == framework
        and row.get("device") == device
        and row.get("dtype") == dtype
        and (device_name is None or row.get("device_name") == device_name)
        and row.get("best_flops_per_s")
    ]
    return float(max(best)) if best else None


#: `jax_default_matmul_precision` values that keep full FP32 on GPUs (`jax.lax.Precision`:
#: only HIGHEST — "highest", "float32" — and the F32/F64 dot algorithms; None/"default" is TF32).
JAX_FP32_PRECISIONS = ("highest", "float32", "f32_f32_f32", "f64_f64_f64")


def precision_in_effect(trial_device_kind: str, settings: dict[str, str]) -> str:
    """The matmul precision a trial's convolutions and matmuls actually ran in: `tf32` on a
    GPU where the framework allowed it (cuDNN's TF32 in torch and Keras on torch, TF's
    TensorFloat-32, JAX's default matmul precision), else `fp32`. MFU is judged against the
    peak of that precision."""
    if trial_device_kind != "cuda":
        return "fp32"
    allowed = ("torch.backends.cudnn.allow_tf32", "tf.tensor_float_32")
    if any(settings.get(k) == "True" for k in allowed):
        return "tf32"
    jax = settings.get("jax.default_matmul_precision")
    return "tf32" if jax is not None and jax.lower() not in JAX_FP32_PRECISIONS else "fp32"


def mfu_fields(
    *,
    flops_per_sample: int | None,
    samples_per_epoch: int,
    steady_epoch_s: float | None,
    framework: str,
    device: str,
    device_kind: str,
    device_name: str,
    settings: dict[str, str],
    calibration: dict[str, Any] | None,
) -> dict[str, float | None]:
    """trials.csv's throughput columns: achieved FLOP/s over the steady epochs and MFU against
    the calibrated peak (this host, framework, device) and, for known GPUs, the spec sheet."""
    from bench.hardware.peaks import spec_peak_flops

    dtype = precision_in_effect(device_kind, settings)
    achieved = achieved_flops_per_s(flops_per_sample, samples_per_epoch, steady_epoch_s)
    calibrated = calibrated_peak(calibration, framework, device, dtype, device_name)
    spec = spec_peak_flops(device_name, dtype) if device_kind == "cuda" else None
    return {
        "achieved_flops_per_s": achieved,
        "peak_flops_per_s_calibrated": calibrated,
        "mfu_calibrated": mfu(achieved, calibrated),
        "peak_flops_per_s_spec": spec,
        "mfu_spec": mfu(achieved, spec),
    }
