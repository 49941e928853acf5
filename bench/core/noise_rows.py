"""trials.csv's noise columns, from a trial's events: what else was going on while it ran.

Two sources (see `bench.trial.noise` for what each reading is):

- the parent's snapshots just before the spawn (`noise_before`) and after the child ended
  (`noise_after`): `load_avg_1m_before`, `cpu_governor` (before), and `cpu_throttle_count`, the
  increase of the CPUs' thermal throttle counters across the trial (empty unless both ends
  were readable);
- the sampler's rows that cover training — every row whose interval (from the row before to
  its own `t_s`) overlaps [start of epoch 1, end of the last epoch]; all rows when the trial
  has no epoch: `cpu_steal_pct` and `other_cpu_pct` are their means, `cpu_freq_min_mhz` /
  `cpu_freq_max_mhz` the lowest and highest per-tick frequency, `gpu_throttle_reasons` the
  bitwise OR of NVML's clock-event reasons (every reason seen at least once).

A trial without samples (the sampler off, the fake runner's virtual time) has those five empty.
"""

from __future__ import annotations

import statistics
from typing import Any

Event = dict[str, Any]


def _last(events: list[Event], kind: str) -> Event:
    found = [e for e in events if e["event"] == kind]
    return found[-1] if found else {}


def training_samples(events: list[Event]) -> list[Event]:
    """The sample events whose interval overlaps the training epochs (all without epochs)."""
    samples = sorted((e for e in events if e["event"] == "sample"), key=lambda e: e["t_s"])
    epochs = [e for e in events if e["event"] == "epoch"]
    if not epochs or not samples:
        return samples
    start = min(e["start_s"] for e in epochs)
    end = max(e["start_s"] + e["wall_s"] for e in epochs)
    previous = [-float("inf")] + [s["t_s"] for s in samples[:-1]]
    return [
        s for s, before in zip(samples, previous, strict=True) if s["t_s"] > start and before < end
    ]


def _values(samples: list[Event], column: str) -> list[Any]:
    return [s[column] for s in samples if s.get(column) is not None]


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _or(values: list[int]) -> int | None:
    if not values:
        return None
    mask = 0
    for value in values:
        mask |= int(value)
    return mask


def noise_columns(events: list[Event]) -> dict[str, Any]:
    """trials.csv's NOISE_TRIAL_COLUMNS of one trial (see the module docstring)."""
    before, after = _last(events, "noise_before"), _last(events, "noise_after")
    start_count, end_count = before.get("cpu_throttle_count"), after.get("cpu_throttle_count")
    samples = training_samples(events)
    freqs = _values(samples, "cpu_freq_mhz")
    return {
        "load_avg_1m_before": before.get("load_avg_1m"),
        "cpu_governor": before.get("cpu_governor") or "",
        "cpu_freq_min_mhz": min(freqs) if freqs else None,
        "cpu_freq_max_mhz": max(freqs) if freqs else None,
        "cpu_steal_pct": _mean(_values(samples, "cpu_steal_pct")),
        "other_cpu_pct": _mean(_values(samples, "other_cpu_pct")),
        "cpu_throttle_count": (
            end_count - start_count if start_count is not None and end_count is not None else None
        ),
        "gpu_throttle_reasons": _or(_values(samples, "gpu_throttle_reasons")),
    }
