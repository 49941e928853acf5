"""The statistics, as small pure functions on arrays of raw measurements.

- `median_ci`, `ratio_ci`: a median / a ratio of medians with a percentile-bootstrap 95% CI;
  the resampling is seeded (`numpy.random.default_rng(0)` on every call), so the same rows give
  the same report.
- `mad_outliers`: modified z-scores from the median absolute deviation (Iglewicz–Hoaglin).
- `trend`: Theil–Sen slope and Kendall's tau of "steady" epochs — do they still drift?
- `mann_whitney`: two-sided Mann–Whitney U test, normal approximation with tie and continuity
  correction (what `scipy.stats.mannwhitneyu(method="asymptotic")` computes), without scipy.
- `break_even_epochs`: after how many epochs a mode with a costlier start is ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEED = 0
RESAMPLES = 2000
CONFIDENCE = 0.95
OUTLIER_Z = 3.5  # modified z-score above which a value is flagged (Iglewicz & Hoaglin)
TREND_MIN_EPOCHS = 3  # fewer steady epochs than this: a trend cannot be judged
TREND_TAU = 0.6  # |Kendall tau| at least this: the epochs move mostly one way
TREND_DRIFT = 0.05  # and they change by more than 5% of the median across the window


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its 95% confidence interval (NaN bounds when n < 2)."""

    value: float
    low: float
    high: float
    n: int

    def contains(self, x: float, rel_tol: float = 1e-9) -> bool:
        slack = rel_tol * max(abs(x), 1.0)
        return self.low - slack <= x <= self.high + slack


@dataclass(frozen=True, slots=True)
class Trend:
    """Drift of a series: Theil–Sen slope per step, total change relative to the median, tau."""

    slope: float
    drift: float
    tau: float
    not_steady: bool


def _array(values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[~np.isnan(arr)]


def _percentiles(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _resample_medians(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    return np.median(values[idx], axis=1)


def median_ci(values: object, resamples: int = RESAMPLES) -> Estimate:
    """Median of `values` with a percentile-bootstrap 95% CI (NaN bounds below two values)."""
    arr = _array(values)
    if len(arr) == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = float(np.median(arr))
    if len(arr) < 2:
        return Estimate(value, math.nan, math.nan, 1)
    rng = np.random.default_rng(SEED)
    low, high = _percentiles(_resample_medians(arr, rng, resamples))
    return Estimate(value, low, high, len(arr))


def ratio_ci(base: object, other: object, resamples: int = RESAMPLES) -> Estimate:
    """median(other) / median(base), with a 95% CI from resampling both groups independently."""
    a, b = _array(base), _array(other)
    if len(a) == 0 or len(b) == 0:
        return Estimate(math.nan, math.nan, math.nan, min(len(a), len(b)))
    value = float(np.median(b) / np.median(a))
    if len(a) < 2 and len(b) < 2:
        return Estimate(value, math.nan, math.nan, 1)
    rng = np.random.default_rng(SEED)
    ratios = _resample_medians(b, rng, resamples) / _resample_medians(a, rng, resamples)
    low, high = _percentiles(ratios)
    return Estimate(value, low, high, min(len(a), len(b)))


def robust_z(values: object) -> np.ndarray:
    """Modified z-scores 0.6745·(x − median)/MAD; with MAD = 0, the mean absolute deviation
    scaled by 1.2533 stands in; all zeros when every value is the median."""
    arr = np.asarray(values, dtype=float)
    dev = arr - np.nanmedian(arr) if len(arr) else arr
    mad = float(np.nanmedian(np.abs(dev))) if len(arr) else 0.0
    if mad > 0:
        return 0.6745 * dev / mad
    mean_ad = float(np.nanmean(np.abs(dev))) if len(arr) else 0.0
    if mean_ad > 0:
        return dev / (1.253314 * mean_ad)
    return np.zeros_like(arr)


def mad_outliers(values: object, threshold: float = OUTLIER_Z) -> np.ndarray:
    """True where a value's modified z-score exceeds `threshold` in magnitude."""
    return np.abs(robust_z(values)) > threshold


def kendall_tau(y: object) -> float:
    """Kendall's tau-a of `y` against its position: +1 always rising, −1 always falling."""
    arr = np.asarray(y, dtype=float)
    n = len(arr)
    if n < 2:
        return 0.0
    i, j = np.triu_indices(n, k=1)
    return float(np.sign(arr[j] - arr[i]).sum() / len(i))


def theil_sen_slope(y: object) -> float:
    """Median of the pairwise slopes of `y` against its position (robust to single spikes)."""
    arr = np.asarray(y, dtype=float)
    if len(arr) < 2:
        return 0.0
    i, j = np.triu_indices(len(arr), k=1)
    return float(np.median((arr[j] - arr[i]) / (j - i)))


def trend(y: object) -> Trend:
    """Is a series of epoch times still moving? `not_steady` when it has at least
    TREND_MIN_EPOCHS values, |tau| ≥ TREND_TAU and the Theil–Sen line changes by more than
    TREND_DRIFT of the median from the first to the last value."""
    arr = _array(y)
    if len(arr) < 2:
        return Trend(0.0, 0.0, 0.0, False)
    slope, tau = theil_sen_slope(arr), kendall_tau(arr)
    median = float(np.median(arr))
    drift = slope * (len(arr) - 1) / median if median > 0 else 0.0
    flagged = len(arr) >= TREND_MIN_EPOCHS and abs(tau) >= TREND_TAU and abs(drift) > TREND_DRIFT
    return Trend(slope, drift, tau, bool(flagged))


def _rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks (1-based, ties averaged) and the sizes of the tie groups."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mid = upper - (counts - 1) / 2
    return mid[inverse], counts


def mann_whitney(a: object, b: object) -> tuple[float, float]:
    """Two-sided Mann–Whitney U test: (U of `a`, p-value), normal approximation with tie
    correction and a 0.5 continuity correction; p = 1 when every value ties."""
    x, y = _array(a), _array(b)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    ranks, ties = _rank(np.concatenate([x, y]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    tie_term = float((ties**3 - ties).sum())
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return u1, 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return u1, min(1.0, math.erfc(z / math.sqrt(2)))


def smallest_p(n1: int, n2: int) -> float:
    """The smallest p-value `mann_whitney` can return for samples of these sizes (complete
    separation, no ties): at or above 0.05 the test cannot detect any difference."""
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        return 1.0
    z = (n1 * n2 / 2 - 0.5) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def break_even_epochs(
    cold_base: float, steady_base: float, cold_other: float, steady_other: float
) -> float:
    """Smallest N ≥ 1 from which on `other` finishes N epochs no later than `base` (inf: never).

    Time to finish N epochs = cold + (N − 1) · steady, where cold is spawn to the end of
    epoch 1 (set-up + first epoch). A mode with a slower steady epoch never pays off."""
    if steady_other > steady_base or (steady_other == steady_base and cold_other > cold_base):
        return math.inf
    if cold_other <= cold_base:
        return 1.0
    gap = (cold_other - cold_base) / (steady_base - steady_other)
    return float(1 + math.ceil(round(gap, 9)))
