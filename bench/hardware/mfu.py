"""Model FLOPs utilisation (MFU) of a trial's steady epochs: the peaks it is judged against,
and trials.csv's throughput columns. The arithmetic — per device, a data-parallel trial's
samples shared by its `world_size` devices — is `bench.contract.mfu`, the one definition that
the report uses too.

`flops_per_sample` is the analytic training cost (forward + backward, multiply-add = 2 FLOPs)
from the model spec, so MFU counts only the model's useful arithmetic — not recomputation,
optimizer updates or data movement. The peak is either the best that `bench calibrate` measured
on this host's device with any framework (`calibrated_peak`; one peak per device, so MFU ranks
frameworks as their epoch times do), or a spec-sheet figure for a known
GPU (`spec_peak`, from `bench.hardware.peaks`). Every function returns None, not 0, when an input
is missing or not positive, so that an empty CSV cell means "not measurable".

The peak is the precision in effect's (`precision_in_effect`, read from settings.csv): BF16 or
FP16 where autocast or a Keras mixed policy ran, TF32 where the framework allowed it on a GPU,
else FP32. A GPU without TF32 Tensor Cores (Volta, Turing, Pascal: V100, T4, P100) runs "TF32
allowed" matmuls in plain FP32 — the flags only matter from Ampere on — so its FP32 peak stands in.
A MIG slice gets no spec-sheet peak: the sheet describes the whole board, and a slice has only
a fraction of its SMs and memory bandwidth. `peak_spec_note` says why the peak is empty, or which
one stood in.
"""

from __future__ import annotations

from typing import Any

from bench.contract.mfu import achieved_flops_per_s, mfu


def same_device(row: dict[str, Any], device: str, device_name: str | None, uuid: str) -> bool:
    """Was calibration `row` measured on this device? By NVML UUID when both have one: the same
    GPU whatever its `cuda:N` (CUDA_VISIBLE_DEVICES renumbers), and not its twin in another
    slot. Otherwise (the CPU, calibrations before UUIDs were recorded) by `cuda:N` and name."""
    if uuid and row.get("device_uuid"):
        return row["device_uuid"] == uuid
    return row.get("device") == device and (
        device_name is None or row.get("device_name") == device_name
    )


def _measured(
    calibration: dict[str, Any] | None,
    framework: str | None,
    device: str,
    dtype: str,
    device_name: str | None,
    uuid: str = "",
) -> list[tuple[float, str]]:
    """(best FLOP/s, framework) of every ok calibration row for this device and dtype."""
    return [
        (float(row["best_flops_per_s"]), str(row.get("framework", "")))
        for row in (calibration or {}).get("rows", [])
        if row.get("status") == "ok"
        and (framework is None or row.get("framework") == framework)
        and same_device(row, device, device_name, uuid)
        and row.get("dtype") == dtype
        and row.get("best_flops_per_s")
    ]


def calibrated_peak(
    calibration: dict[str, Any] | None,
    framework: str,
    device: str,
    dtype: str = "fp32",
    device_name: str | None = None,
    uuid: str = "",
) -> float | None:
    """The best matmul FLOP/s `bench calibrate` measured for this framework, device and dtype.

    `calibration` is a document from `bench.hardware.calibrate.load_latest`; the best over all
    matrix sizes is taken. With `device_name`, rows measured on a differently named device (the
    GPUs were reordered or swapped since) are ignored; with `uuid`, see `same_device`. None when
    nothing matches.
    """
    best = _measured(calibration, framework, device, dtype, device_name, uuid)
    return max(best)[0] if best else None


def device_peak(
    calibration: dict[str, Any] | None,
    device: str,
    dtype: str,
    device_name: str | None = None,
    uuid: str = "",
) -> tuple[float | None, str]:
    """The device's calibrated peak — the best any framework measured on it — and who did."""
    best = _measured(calibration, None, device, dtype, device_name, uuid)
    return max(best) if best else (None, "")


#: `jax_default_matmul_precision` values that keep full FP32 on GPUs (`jax.lax.Precision`:
#: only HIGHEST — "highest", "float32" — and the F32/F64 dot algorithms; None/"default" is TF32).
JAX_FP32_PRECISIONS = ("highest", "float32", "f32_f32_f32", "f64_f64_f64")


#: The settings that name a trial's mixed-precision compute dtype, and the precision each value is.
MIXED = {
    "torch.autocast.dtype": {"torch.bfloat16": "bf16", "torch.float16": "fp16"},
    "keras.dtype_policy": {"mixed_bfloat16": "bf16", "mixed_float16": "fp16"},
}


def precision_in_effect(trial_device_kind: str, settings: dict[str, str]) -> str:
    """The precision a trial's convolutions and matmuls actually ran in: `bf16`/`fp16` where
    autocast or a Keras mixed policy was on (any device); on a GPU `tf32` where the framework
    allowed it (cuDNN's TF32 in torch and Keras on torch, TF's TensorFloat-32, JAX's default
    matmul precision); else `fp32`. MFU is judged against the peak of that precision."""
    for key, values in MIXED.items():
        if settings.get(key) in values:
            return values[settings[key]]
    if trial_device_kind != "cuda":
        return "fp32"
    allowed = ("torch.backends.cudnn.allow_tf32", "tf.tensor_float_32")
    if any(settings.get(k) == "True" for k in allowed):
        return "tf32"
    jax = settings.get("jax.default_matmul_precision")
    return "tf32" if jax is not None and jax.lower() not in JAX_FP32_PRECISIONS else "fp32"


def spec_peak(
    device_kind: str, device_name: str, dtype: str, mig: bool
) -> tuple[float | None, str]:
    """(spec-sheet peak FLOP/s, note): the peak for `dtype` on a known whole GPU; the FP32 peak
    for TF32 on a GPU that has none; None with the reason otherwise."""
    from bench.hardware.peaks import lookup

    if device_kind != "cuda":
        return None, "no spec-sheet peak for a CPU"
    if mig:
        return None, "MIG slice: the spec sheet is the whole board's, not the slice's"
    entry = lookup(device_name)
    if entry is None:
        return None, "GPU not in the spec-sheet table (bench/hardware/peaks.py)"
    peak = entry.flops_per_s(dtype)
    if peak is None and dtype == "tf32":
        return entry.fp32, "FP32 peak: TF32 was allowed, but this GPU has no TF32 Tensor Cores"
    if peak is None:
        return None, f"no {dtype} peak on this GPU's spec sheet"
    return peak, ""


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
    mig: bool = False,
    device_uuid: str = "",
    world_size: int = 1,
) -> dict[str, float | str | None]:
    """trials.csv's throughput columns: achieved FLOP/s over the steady epochs; MFU against the
    device's calibrated peak — the best any framework measured on it, so that frameworks on one
    device share one yardstick (`peak_calibrated_by` names who measured it) — and, secondary,
    against the trial's own framework's calibration (`mfu_calibrated_own`); and, for known whole
    GPUs, against the spec sheet (with `peak_spec_note`; `mig`: the device is a MIG slice).
    `samples_per_epoch` counts all `world_size` replicas; the figures are per device."""
    dtype = precision_in_effect(device_kind, settings)
    achieved = achieved_flops_per_s(flops_per_sample, samples_per_epoch, steady_epoch_s, world_size)
    calibrated, by = device_peak(calibration, device, dtype, device_name, device_uuid)
    own = calibrated_peak(calibration, framework, device, dtype, device_name, device_uuid)
    spec, note = spec_peak(device_kind, device_name, dtype, mig)
    return {
        "achieved_flops_per_s": achieved,
        "peak_flops_per_s_calibrated": calibrated,
        "mfu_calibrated": mfu(achieved, calibrated),
        "peak_calibrated_by": by,
        "mfu_calibrated_own": mfu(achieved, own),
        "peak_flops_per_s_spec": spec,
        "mfu_spec": mfu(achieved, spec),
        "peak_spec_note": note,
    }
