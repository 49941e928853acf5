"""Is a configuration's timing unstable? Two rules behind the report's "unstable" warnings.

**Multi-modal epochs** (`modes`): the steady epochs of one process fall into two groups — a
background job, a frequency step or a throttle that comes and goes. Each repeat's steady epochs
are divided by that repeat's own lower quartile (so process-to-process speed, the other rule's
business, does not make groups, and a slow group holding up to half of a repeat's epochs keeps
the fast group at 1), then pooled. The pooled values are split in two where the between-group
sum of squares is largest (the exact 1-D two-means split, each group at least MODES_MIN_GROUP
values and MODES_MIN_SHARE of them); the separation is Ashman's D, the difference of the group
means over the pooled within-group SD. Flagged when, with at least MODES_MIN_EPOCHS values
from repeats of at least MODES_MIN_PER_REPEAT steady epochs each,
D > MODES_K0 + MODES_K1 / √n and the groups are more than MODES_MIN_SHIFT apart. One
unimodal sample split this way already has D ≈ 2.65 (a normal halved at its median) and
smaller samples scatter higher, hence the threshold's √n term. Calibrated by simulation
(tests/test_analysis_instability.py, seeded; processes 8 % apart): unimodal epoch noise — 2 %
lognormal, 2 % Student-t with 3 degrees of freedom, and a skewed 30 % lognormal — trips it in
under 5 % of configurations at every size tried, 1–6 repeats of 5–20 steady epochs (at most
4.2 %: the 30 % lognormal, 3 repeats of 5; the others at most 2.2 %). With 2 % noise and 30 %
of the epochs 15 % slower it catches 98 % of configurations of 3 repeats × 10 steady epochs,
about 57 % of single repeats of 10.

**Repeats that disagree** (`disagreement`): each repeat's steady median has an
order-statistic interval from its own epochs (`stats.median_ci`: with 5 steady epochs,
[min, max] at 94 %); flagged when the slowest repeat's interval lies wholly above the fastest
repeat's and their medians differ by more than DISAGREE_MIN_SHIFT — the epochs of one process
then say far less about the configuration than they seem to. Needs two repeats with at least
MODES_MIN_PER_REPEAT steady epochs. Simulated with 2 % epoch noise: processes 2 % apart trip it
in 0.4–4 % of configurations (2–6 repeats of 5 or 10 steady epochs); 8 % apart, the
development VM's spread, in 42–95 % — there the repeats really do disagree.

Taken from pyperf: the shape of a warning (`pyperf check`, `_formatter.format_checks`: "the
benchmark seems unstable", the number that shows it, then what to do — rerun with more runs,
`pyperf system tune`), once per problem, with the advice once at the end; and its suspects
(`pyperf system show`: the CPU scaling governor, whose advice is `performance`; the metadata it
collects per run, `_collect_metadata`: `load_avg_1min` from /proc/loadavg with
`os.getloadavg` as fallback, CPU frequency and governor of the CPUs in the affinity set — which
`bench.trial.noise` reads the same way). Not taken: pyperf judges stability by the standard
deviation over the mean (10 % warns, 20 % errs); here the repeat is the unit and the epochs of
one process are not independent, so the rules above look at shape and at the repeats' own
intervals instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis import stats

MODES_MIN_EPOCHS = 6
MODES_MIN_PER_REPEAT = 3
MODES_MIN_GROUP = 3
MODES_MIN_SHARE = 0.15
MODES_K0, MODES_K1 = 3.5, 7.0
MODES_MIN_SHIFT = 0.03  # relative gap between the group means
DISAGREE_MIN_SHIFT = 0.10  # slowest repeat's median / fastest's − 1


@dataclass(frozen=True, slots=True)
class Modes:
    """The two-group split of a configuration's pooled relative steady epochs: group sizes,
    how much slower the slow group is (relative), Ashman's D, its threshold, the verdict."""

    n_fast: int
    n_slow: int
    shift: float
    separation: float
    threshold: float
    multimodal: bool


def modes_threshold(n: int) -> float:
    """The separation (Ashman's D) above which n pooled values count as two groups."""
    return MODES_K0 + MODES_K1 / math.sqrt(n)


def two_groups(values: np.ndarray) -> tuple[int, float, float, float] | None:
    """The best two-means split of `values` (sorted): (size of the low group, low mean, high
    mean, Ashman's D); None when too few values for two groups of the minimum size."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    m = max(MODES_MIN_GROUP, math.ceil(MODES_MIN_SHARE * n))
    if n < 2 * m:
        return None
    cum = np.cumsum(x)
    i = np.arange(m, n - m + 1)  # size of the low group
    low_mean = cum[i - 1] / i
    high_mean = (cum[-1] - cum[i - 1]) / (n - i)
    between = i * (n - i) / n * (high_mean - low_mean) ** 2
    k = int(np.argmax(between))
    low, high = x[: i[k]], x[i[k] :]  # the within-group spread directly: no cancellation
    spread = math.sqrt(
        (np.sum((low - low.mean()) ** 2) + np.sum((high - high.mean()) ** 2)) / (n - 2)
    )
    gap = float(high.mean() - low.mean())
    if spread <= 1e-9 * abs(high.mean()):  # equal times within each group, up to rounding
        return int(i[k]), float(low.mean()), float(high.mean()), math.inf if gap > 0 else 0.0
    return int(i[k]), float(low.mean()), float(high.mean()), gap / spread


def relative_epochs(repeats: Sequence[np.ndarray]) -> np.ndarray:
    """Each repeat (of enough steady epochs) over its own lower quartile, pooled."""
    parts = []
    for r in repeats:
        r = np.asarray(r, dtype=float)
        r = r[~np.isnan(r)]
        if len(r) >= MODES_MIN_PER_REPEAT and (quartile := stats.quantile(r, 0.25)) > 0:
            parts.append(r / quartile)
    return np.concatenate(parts) if parts else np.array([])


def modes(repeats: Sequence[np.ndarray]) -> Modes | None:
    """The multi-modality verdict from each repeat's steady epoch times (see the docstring);
    None when there are too few epochs to judge."""
    pooled = relative_epochs(repeats)
    if len(pooled) < MODES_MIN_EPOCHS:
        return None
    split = two_groups(pooled)
    if split is None:
        return None
    n_low, low, high, separation = split
    threshold = modes_threshold(len(pooled))
    shift = high / low - 1
    flagged = separation > threshold and shift > MODES_MIN_SHIFT
    return Modes(n_low, len(pooled) - n_low, shift, separation, threshold, bool(flagged))


@dataclass(frozen=True, slots=True)
class Disagreement:
    """The fastest and slowest repeat (positions in the list given) with each one's median
    steady epoch and interval, the relative difference and the verdict."""

    fast: int
    slow: int
    fast_ci: stats.Estimate
    slow_ci: stats.Estimate
    shift: float
    disagree: bool


def disagreement(repeats: Sequence[np.ndarray]) -> Disagreement | None:
    """Whether the slowest repeat's interval lies above the fastest's (see the docstring);
    None with fewer than two repeats of enough steady epochs."""
    cis = {
        i: stats.median_ci(r)
        for i, r in enumerate(repeats)
        if np.count_nonzero(~np.isnan(np.asarray(r, dtype=float))) >= MODES_MIN_PER_REPEAT
    }
    if len(cis) < 2:
        return None
    fast = min(cis, key=lambda i: cis[i].value)
    slow = max(cis, key=lambda i: cis[i].value)
    a, b = cis[fast], cis[slow]
    shift = b.value / a.value - 1 if a.value > 0 else math.nan
    flagged = b.low > a.high and shift > DISAGREE_MIN_SHIFT
    return Disagreement(fast, slow, a, b, shift, bool(flagged))
