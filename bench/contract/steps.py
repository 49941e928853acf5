"""Per-step figures, defined once: trials.csv (`bench.core.rows`) and the report and `compare`
(`analysis.steps`) compute them here from steps.csv's rows.

A trial's steps (steps.csv: one wall time per optimizer step, by epoch) give:

- the steady steps: every step of epochs 2..E; their median `step_p50_s`, 90th and 99th
  percentiles (`step_p90_s`, `step_p99_s`; linear interpolation between order statistics, as
  NumPy's default) and sample standard deviation `step_stdev_s` — the per-step jitter the epoch
  times average away; the steady band is [p10, p90];
- `settle_steps`: how many of epoch 1's steps come before the step time settles. Epoch 1
  *settles* at the first step k from which `SETTLE_RUN` (3) consecutive steps — or all the
  steps left, near the end — lie at or below the steady band's top (p90): k − 1 steps came
  before. A steady process settles at once (0) unless its first step is slow; one that never
  settles has all of epoch 1 unsettled;
- `step_overhead_s`: the first-epoch overhead measured in steps — epoch 1's excess over the
  steady per-step median, summed over its unsettled steps: Σ (wᵢ − p50) for i ≤ settle_steps.

Why steps: "first − steady epoch" is one epoch's sum of N steps minus another median, so N
steps of jitter land in it; the step-based figure sums only the few unsettled steps against a
median of (E − 1)·N steady steps, and resolves a first-step cost that epoch jitter swamps
(docs/statistics.md has the comparison). Pure Python: the parent computes trials.csv with it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

FIRST_EPOCH = 1
STEADY_FROM = 2
SETTLE_RUN = 3  # consecutive in-band steps that mark epoch 1 as settled
BAND = (0.10, 0.90)  # the steady band: these percentiles of the steady steps
STEP_FIGURES = (
    "step_p50_s",
    "step_p90_s",
    "step_p99_s",
    "step_stdev_s",
    "step_overhead_s",
    "settle_steps",
)
DIGITS = 9


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly between order statistics
    (NumPy's default `linear` method, Hyndman–Fan type 7)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def steady_steps(walls: Mapping[int, Sequence[float]]) -> list[float]:
    """Every step of epochs 2..E, in epoch order."""
    return [w for epoch in sorted(walls) if epoch >= STEADY_FROM for w in walls[epoch]]


def settle(first: Sequence[float], top: float, run: int = SETTLE_RUN) -> int:
    """The number of epoch 1's steps before it settles: the first k whose `run` steps from k
    (fewer at the end) are all ≤ `top`; len(first) when none are."""
    for k in range(len(first)):
        if all(w <= top for w in first[k : k + run]):
            return k
    return len(first)


def step_overhead(first: Sequence[float], median: float, top: float) -> tuple[float, int]:
    """(epoch 1's excess over `median` summed over its unsettled steps, their number)."""
    unsettled = settle(first, top)
    return sum(w - median for w in first[:unsettled]), unsettled


def step_figures(walls: Mapping[int, Sequence[float]]) -> dict[str, float | int | None]:
    """A trial's STEP_FIGURES from its step wall times by epoch (None where not computable:
    no steady steps; the stdev needs two)."""
    steady = sorted(steady_steps(walls))
    if not steady:
        return dict.fromkeys(STEP_FIGURES)
    p50, top = quantile(steady, 0.5), quantile(steady, BAND[1])
    figures: dict[str, float | int | None] = {
        "step_p50_s": p50,
        "step_p90_s": top,
        "step_p99_s": quantile(steady, 0.99),
        "step_stdev_s": statistics.stdev(steady) if len(steady) > 1 else None,
        "step_overhead_s": None,
        "settle_steps": None,
    }
    first = walls.get(FIRST_EPOCH)
    if first:
        excess, unsettled = step_overhead(first, p50, top)
        figures |= {"step_overhead_s": excess, "settle_steps": unsettled}
    return {k: round(v, DIGITS) if isinstance(v, float) else v for k, v in figures.items()}


def band(steady: Sequence[float]) -> tuple[float, float, float]:
    """(p10, p50, p90) of the steady steps: the band a figure draws epoch 1 against."""
    ordered = sorted(steady)
    return quantile(ordered, BAND[0]), quantile(ordered, 0.5), quantile(ordered, BAND[1])
