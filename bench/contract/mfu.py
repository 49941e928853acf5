"""Achieved FLOP/s and model FLOPs utilisation (MFU), per device, defined once: trials.csv's
columns (`bench.hardware.mfu.mfu_fields`, called by `bench.core.sweep`) and the report's MFU
figure (`analysis.plots_resources.mfu_table`) both compute them here, so they cannot disagree.

    achieved = flops_per_sample × samples_per_epoch / world_size / steady_epoch_s
    mfu      = achieved / peak            (a fraction, 0.42 = 42 %)

`samples_per_epoch` is trials.csv's: every replica's samples (a data-parallel trial of N
replicas trains N × batch_size × steps_per_epoch). Each replica has a device of its own and a
peak is one device's, so the achieved figure is one device's share: a world of 4 at the same
per-device throughput as a world of 1 has the same MFU. Both functions return None, not 0,
when an input is missing or not positive, so that an empty CSV cell means "not measurable".
"""

from __future__ import annotations


def _positive(*values: float | None) -> bool:
    return all(v is not None and v > 0 for v in values)


def achieved_flops_per_s(
    flops_per_sample: float | None,
    samples_per_epoch: float | None,
    steady_epoch_s: float | None,
    world_size: int | None = 1,
) -> float | None:
    """Useful FLOP/s of one device over a steady epoch: FLOPs of the epoch's samples (over
    all `world_size` replicas) over its wall time, divided among the replicas' devices."""
    if not _positive(flops_per_sample, samples_per_epoch, steady_epoch_s, world_size):
        return None
    assert flops_per_sample and samples_per_epoch and steady_epoch_s and world_size
    return flops_per_sample * samples_per_epoch / world_size / steady_epoch_s


def mfu(achieved: float | None, peak: float | None) -> float | None:
    """`achieved / peak` as a fraction; None if either is missing or not positive."""
    if not _positive(achieved, peak):
        return None
    assert achieved and peak
    return achieved / peak
