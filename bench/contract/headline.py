"""The headline figures, defined once: trials.csv (`bench.core.rows`), the terminal summary
(`bench.core.summary`) and the report (`analysis.summary`) all compute them here, so they cannot
disagree.

Per trial, from its raw phase and epoch rows:

- `setup_s`: every phase before the first step (spawn, harness, import, device_init, data, build,
  compile, and a data-parallel trial's dist_init and wrap); none unless every phase a
  single-device trial has was recorded (a trial that died in `import` has no set-up figure);
- `first_step_s`: the first training step of epoch 1;
- `first_epoch_s`: wall time of epoch 1 (its first step and the rest);
- `steady_epoch_s`: the median wall time of epochs 2..E;
- `first_epoch_overhead_s`: first_epoch_s − steady_epoch_s;
- `samples_per_s`: samples per epoch / steady_epoch_s.

Per configuration (its `ok` repeats; the repeat — a fresh process — is the unit): the median
of each figure over repeats, the steady median's order-statistic interval (`median_interval`),
and figures that add up: overhead = median first − median steady, first ÷ steady, cold start =
median set-up + median first epoch, samples/s at the median steady epoch. `derived` is plain
arithmetic, so the report hands it pandas columns and the terminal plain numbers.

Pure Python: the parent has no NumPy to spare, and this module imports nothing of the project
but the schema's phase names.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from bench.contract.schema import DIST_PHASES, PHASES

FIRST_EPOCH = 1
STEADY_FROM = 2  # epochs 2..E are the steady state
#: What each phase is, in words (legends, tables, docs). `compile` is the runner's `compile()`
#: step — the optimizer and loss set-up (Keras: `model.compile`; torch: the optimizer's
#: constructor, whose first call imports `torch._dynamo`; `torch.compile` only wraps the model
#: there: it compiles during `first_step`). The column values stay the phase names.
PHASE_LABELS = {
    "spawn": "interpreter start",
    "harness": "harness set-up",
    "import": "framework import",
    "device_init": "device init",
    "dist_init": "process group init",
    "data": "data",
    "build": "model build",
    "wrap": "DDP wrap",
    "compile": "optimizer set-up",
    "first_step": "first step",
    "first_epoch_rest": "rest of epoch 1",
}
SETUP_PHASES = PHASES[: PHASES.index("first_step")]
REQUIRED_SETUP_PHASES = tuple(p for p in SETUP_PHASES if p not in DIST_PHASES)
DIGITS = 9  # figures are rounded to the nanosecond: one value wherever they are computed
TRIAL_FIGURES = (
    "setup_s",
    "first_step_s",
    "first_epoch_s",
    "steady_epoch_s",
    "first_epoch_overhead_s",
    "samples_per_s",
)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


def setup_s(durations: Mapping[str, float]) -> float | None:
    """Sum of the set-up phases (see the module doc); None when one a trial must have is missing."""
    if not all(p in durations for p in REQUIRED_SETUP_PHASES):
        return None
    return sum(durations.get(p, 0.0) for p in SETUP_PHASES)


def steady_epoch_s(walls: Mapping[int, float]) -> float | None:
    """Median wall time of epochs 2..E (None with no steady epoch)."""
    later = [w for epoch, w in walls.items() if epoch >= STEADY_FROM]
    return statistics.median(later) if later else None


def trial_figures(
    durations: Mapping[str, float], walls: Mapping[int, float], samples: int
) -> dict[str, float | None]:
    """One trial's headline figures from its phase durations (by phase), epoch wall times (by
    epoch) and samples per epoch: TRIAL_FIGURES, None where not computable."""
    first = walls.get(FIRST_EPOCH)
    steady = steady_epoch_s(walls)
    figures = {
        "setup_s": setup_s(durations),
        "first_step_s": durations.get("first_step"),
        "first_epoch_s": first,
        "steady_epoch_s": steady,
        "first_epoch_overhead_s": first - steady if None not in (first, steady) else None,
        "samples_per_s": samples / steady if steady else None,
    }
    return {k: _round(v) for k, v in figures.items()}


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, confidence) of the order-statistic interval for the median of `values`: the
    narrowest [x(k), x(n−k+1)] whose exact binomial confidence reaches `level`, or [min, max]
    with its own (lower) confidence when n is too small for `level`. Exact for any continuous
    distribution: with 3 repeats [min, max] is a 75 % interval, and 95 % needs 6."""
    xs, n = sorted(values), len(values)
    best = (xs[0], xs[-1], 1 - 2 * 0.5**n)
    for k in range(2, n // 2 + 1):
        covered = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if covered < level:
            break
        best = (xs[k - 1], xs[n - k], covered)
    return best


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values present (None for none)."""
    present = [v for v in values if v is not None and v == v]
    return statistics.median(present) if present else None


def _quotient(a: Any, b: Any) -> Any:
    """a / b; None when either is missing or a plain divisor is 0 (columns divide as pandas do)."""
    if a is None or b is None or (isinstance(b, int | float) and b == 0):
        return None
    return a / b


def derived(first: Any, steady: Any, setup: Any, samples: Any) -> dict[str, Any]:
    """A configuration's figures that add up, from its medians over repeats (numbers, or pandas
    columns of them): overhead_s, first_over_steady, cold_start_s, samples_per_s."""
    return {
        "overhead_s": None if first is None or steady is None else first - steady,
        "first_over_steady": _quotient(first, steady),
        "cold_start_s": None if setup is None or first is None else setup + first,
        "samples_per_s": _quotient(samples, steady),
    }
