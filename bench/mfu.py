"""Achieved FLOP/s and model FLOPs utilisation (MFU) of a trial's steady epochs.

    achieved = flops_per_sample × samples_per_epoch / steady_epoch_s
    mfu      = achieved / peak            (a fraction, 0.42 = 42 %)

`flops_per_sample` is the analytic training cost (forward + backward, multiply-add = 2 FLOPs)
from the model spec, so MFU counts only the model's useful arithmetic — not recomputation,
optimizer updates or data movement. The peak is either what `bench calibrate` measured on this
host with the same framework and device (`calibrated_peak`), or a spec-sheet figure for a known
GPU (`bench.peaks.spec_peak_flops`). Every function returns None, not 0, when an input is
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

    `calibration` is a document from `bench.calibrate.load_latest`; the best over all matrix
    sizes is taken. With `device_name`, rows measured on a differently named device (the GPUs
    were reordered or swapped since) are ignored. None when nothing matches.
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
