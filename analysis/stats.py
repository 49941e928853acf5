"""The statistics, as small pure functions on arrays of raw measurements (scipy.stats inside).

The unit of every interval and test is the *repeat* — a fresh process, one value each — never
the epoch: the epochs of one process share that process's speed, so pooling them overstates
what is known (a 1-against-1 "test" on pooled epochs called same-distribution runs different
69–76 % of the time in simulation).

- `median_ci`: median of repeats with the distribution-free order-statistic interval
  [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] of `bench.contract.headline`; its exact binomial confidence is reported as
  `level` — 95 % from 6 repeats, less below (75 % with 3).
- `ratio_ci`: median(other) / median(base) with a Welch t-interval on the log times
  (`scipy.stats.ttest_ind(equal_var=False).confidence_interval`), exponentiated.
- `mann_whitney`: `scipy.stats.mannwhitneyu`, exact at small n; `smallest_p` the smallest
  p-value it can give; `adjust_p`: Benjamini–Hochberg (`scipy.stats.false_discovery_control`).
- `mad_outliers`: modified z-scores from the median absolute deviation (Iglewicz–Hoaglin).
- `break_even_epochs`: after how many epochs a mode with a costlier start is ahead.
- `median`, `quantile`: np.median / np.percentile (linear) of one short 1-D array, NaN left out,
  by sorting — numpy's generic reductions cost ~50 µs a call, which the per-repeat loops of a
  100,000-epoch report paid tens of thousands of times.
The drift test of steady epochs lives in `analysis.drift`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bench.contract.headline import median_interval

CONFIDENCE = 0.95
ALPHA = 0.05  # significance level of every test
VERDICT_REPEATS = 4  # fewest repeats a side whose exact Mann–Whitney can reach p < ALPHA
FULL_CI_REPEATS = 6  # fewest repeats whose order-statistic interval reaches CONFIDENCE
OUTLIER_Z = 3.5  # modified z-score above which a value is flagged (Iglewicz & Hoaglin)
EXACT_MAX_N = 8  # Mann–Whitney: exact null distribution while the smaller sample is this small


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate and its confidence interval; `level` is the interval's real confidence
    (below CONFIDENCE where the sample cannot reach it); NaN bounds and level when n < 2."""

    value: float
    low: float
    high: float
    n: int
    level: float = math.nan

    def contains(self, x: float, rel_tol: float = 1e-9) -> bool:
        slack = rel_tol * max(abs(x), 1.0)
        return self.low - slack <= x <= self.high + slack


def median(values: object) -> float:
    """The median of `values` (NaN left out; NaN when none), as np.median computes it."""
    return quantile(values, 0.5)


def quantile(values: object, q: float) -> float:
    """The q-quantile of `values` (NaN left out; NaN when none) with linear interpolation
    between order statistics, np.percentile's default."""
    arr = np.sort(_array(values))
    if len(arr) == 0:
        return math.nan
    pos = q * (len(arr) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(arr) - 1)
    return float(arr[lo] + (pos - lo) * (arr[hi] - arr[lo]))


def _array(values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def median_ci(values: object, confidence: float = CONFIDENCE) -> Estimate:
    """Median of `values` (one per repeat) with the order-statistic interval
    (`bench.contract.headline.median_interval`, the terminal summary's too); NaN bounds below two
    values. Exact for any continuous distribution, no resampling."""
    arr = np.sort(_array(values))
    n = len(arr)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = median(arr)
    if n < 2:
        return Estimate(value, math.nan, math.nan, 1)
    low, high, level = median_interval(arr.tolist(), confidence)
    return Estimate(value, float(low), float(high), n, level)


def ratio_ci(base: object, other: object, confidence: float = CONFIDENCE) -> Estimate:
    """median(other) / median(base) with a Welch t-interval for the ratio of geometric means
    (the ratio of medians where log times are symmetric): needs two positive values a side."""
    a, b = _array(base), _array(other)
    n = min(len(a), len(b))
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value, low, high = (float(v[0]) for v in ratio_cis(a[None, :], b[None, :], confidence))
    return Estimate(value, low, high, n, confidence if not math.isnan(low) else math.nan)


def ratio_cis(
    base: np.ndarray, other: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`ratio_ci` for each row of two 2-D arrays (rows: comparisons, columns: repeats):
    (ratio, low, high); NaN bounds with fewer than two values a side or a value ≤ 0."""
    value = np.median(other, axis=1) / np.median(base, axis=1)
    low = high = np.full(len(value), math.nan)
    usable = (base > 0).all(axis=1) & (other > 0).all(axis=1)
    if min(base.shape[1], other.shape[1]) < 2 or not usable.any():
        return value, low, high
    la, lb = (
        np.log(np.where(usable[:, None], base, 1.0)),
        np.log(np.where(usable[:, None], other, 1.0)),
    )
    exact = (np.ptp(la, axis=1) == 0) & (np.ptp(lb, axis=1) == 0)  # no spread: the ratio is exact
    with warnings.catch_warnings():  # rows without spread: scipy warns, `exact` answers them
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sps.ttest_ind(lb, la, axis=1, equal_var=False).confidence_interval(confidence)
    low = np.where(exact, value, np.exp(ci.low))
    high = np.where(exact, value, np.exp(ci.high))
    return value, np.where(usable, low, math.nan), np.where(usable, high, math.nan)


def robust_z(values: object) -> np.ndarray:
    """Modified z-scores 0.6745·(x − median)/MAD; with MAD = 0, the mean absolute deviation
    scaled by 1.2533 stands in; all zeros when every value is the median. Hand-written:
    scipy has the MAD (`median_abs_deviation`) but not the Iglewicz–Hoaglin score and its
    MAD = 0 fallback, and `summary.outlier_mask` vectorises exactly this formula."""
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


def mw_method(n1: int, n2: int) -> str:
    """'exact' while the smaller sample has at most EXACT_MAX_N values (with ties the exact
    distribution of untied ranks is used, which errs on the conservative side), else the
    normal approximation with tie and continuity correction."""
    return "exact" if min(n1, n2) <= EXACT_MAX_N else "asymptotic"


def mann_whitney(a: object, b: object) -> tuple[float, float]:
    """Two-sided Mann–Whitney U test (`scipy.stats.mannwhitneyu`): (U of `a`, p-value);
    p = 1 when every value ties; NaN for an empty side."""
    x, y = _array(a), _array(b)
    if len(x) == 0 or len(y) == 0:
        return math.nan, math.nan
    u, p = mann_whitney_rows(x[None, :], y[None, :])
    return float(u[0]), float(p[0])


def mann_whitney_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`mann_whitney` for each row of two 2-D arrays (one scipy call for all rows)."""
    tied = np.ptp(np.concatenate([x, y], axis=1), axis=1) == 0
    res = sps.mannwhitneyu(x, y, axis=1, method=mw_method(x.shape[1], y.shape[1]))
    u = np.where(tied, x.shape[1] * y.shape[1] / 2, res.statistic)
    return u, np.where(tied, 1.0, np.minimum(1.0, res.pvalue))


def smallest_p(n1: int, n2: int) -> float:
    """The smallest p-value `mann_whitney` can return for samples of these sizes (complete
    separation, no ties): at or above 0.05 the test cannot detect any difference. Exact:
    2 / C(n1 + n2, n1) — 0.1 for 3 against 3, 0.029 for 4 against 4."""
    if n1 < 1 or n2 < 1:
        return 1.0
    if mw_method(n1, n2) == "exact":
        return min(1.0, 2 / math.comb(n1 + n2, n1))
    z = (n1 * n2 / 2 - 0.5) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def adjust_p(p: object) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (`scipy.stats.false_discovery_control`); NaN stays
    NaN and is not counted as a test."""
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, math.nan)
    tested = ~np.isnan(arr)
    if tested.any():
        out[tested] = sps.false_discovery_control(arr[tested], method="bh")
    return out


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
