"""The statistics, as small pure functions on arrays of raw measurements (scipy.stats inside).

The unit of every interval and test is the *repeat* — a fresh process, one value each — never
the epoch: the epochs of one process share that process's speed, so pooling them overstates
what is known (a 1-against-1 "test" on pooled epochs called same-distribution runs different
69–76 % of the time in simulation).

- `median_ci`: median of repeats with the distribution-free order-statistic interval
  [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] of `bench.contract.headline`; its exact binomial confidence is reported as
  `level` — 95 % from 6 repeats, less below (75 % with 3).
- `ratio_ci`, `ratio_tests`: median(other) / median(base) with a Welch t-interval on the log
  times (`scipy.stats.ttest_ind(equal_var=False)`), exponentiated, and the p of that same test;
  `adjust_p`: Benjamini–Hochberg (`scipy.stats.false_discovery_control`).
- `mad_outliers`: modified z-scores from the median absolute deviation (Iglewicz–Hoaglin),
  against a cut-off per sample size (`outlier_cutoff`: the 99th percentile of the largest
  |z| among that many normal values), none below 4 values.
- `break_even_epochs`: after how many epochs a mode with a costlier start is ahead.
- `median`, `quantile`: np.median / np.percentile (linear) of one short 1-D array, NaN left out,
  by sorting — numpy's generic reductions cost ~50 µs a call, which the per-repeat loops of a
  100,000-epoch report paid tens of thousands of times.
The drift test of steady epochs lives in `analysis.drift`.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bench.contract.headline import median_interval

CONFIDENCE = 0.95
ALPHA = 0.05  # significance level of every test
VERDICT_REPEATS = 4  # fewest repeats a side for a verdict (docs/statistics.md, "Comparing runs")
FULL_CI_REPEATS = 6  # fewest repeats whose order-statistic interval reaches CONFIDENCE
OUTLIER_MIN_N = 4  # fewest values that get an outlier verdict
OUTLIER_QUANTILE = 0.99  # of the largest |modified z| among normal values: the cut-off
OUTLIER_DRAWS = 20_000  # samples of the simulation behind each cut-off


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
    nan = np.isnan(arr)
    return arr[~nan] if nan.any() else arr


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
    test = ratio_tests(a[None, :], b[None, :], confidence)
    value, low, high = (float(v[0]) for v in (test.ratio, test.low, test.high))
    return Estimate(value, low, high, n, confidence if not math.isnan(low) else math.nan)


@dataclass(frozen=True, slots=True)
class RatioTests:
    """Per row: ratio of medians, the Welch interval's bounds and the same test's p."""

    ratio: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray


def ratio_tests(base: np.ndarray, other: np.ndarray, confidence: float = CONFIDENCE) -> RatioTests:
    """For each row of two 2-D arrays (rows: comparisons, columns: repeats): the ratio of
    medians, and Welch's t-test on the log values (`scipy.stats.ttest_ind(equal_var=False)`):
    its interval for the difference of log means, exponentiated, and its two-sided p — one
    test, so the interval excludes 1 exactly when p < 1 − confidence. NaN bounds and p with
    fewer than two values a side or a value ≤ 0; rows without spread on either side are exact
    (the interval is the ratio; p is 0 where the ratio differs from 1, else 1)."""
    value = np.median(other, axis=1) / np.median(base, axis=1)
    nan = np.full(len(value), math.nan)
    usable = (base > 0).all(axis=1) & (other > 0).all(axis=1)
    if min(base.shape[1], other.shape[1]) < 2 or not usable.any():
        return RatioTests(value, nan, nan, nan)
    la, lb = (np.log(np.where(usable[:, None], x, 1.0)) for x in (base, other))
    exact = (np.ptp(la, axis=1) == 0) & (np.ptp(lb, axis=1) == 0)  # no spread: the ratio is exact
    with warnings.catch_warnings():  # rows without spread: scipy warns, `exact` answers them
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(lb, la, axis=1, equal_var=False)
        ci = res.confidence_interval(confidence)
    low = np.where(exact, value, np.exp(ci.low))
    high = np.where(exact, value, np.exp(ci.high))
    p = np.where(exact, np.where(value == 1, 1.0, 0.0), res.pvalue)
    return RatioTests(
        value, *(np.where(usable, x, math.nan) for x in (low, high, np.minimum(p, 1.0)))
    )


def robust_z(values: object) -> np.ndarray:
    """Modified z-scores 0.6745·(x − median)/MAD along the last axis (each row of a 2-D array
    on its own); with MAD = 0, the mean absolute deviation scaled by 1.2533 stands in; zeros
    where every value is the median. Hand-written: scipy has the MAD
    (`median_abs_deviation`) but not the Iglewicz–Hoaglin score and its MAD = 0 fallback, and
    `summary.outlier_mask` vectorises exactly this formula."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return arr
    dev = arr - np.nanmedian(arr, axis=-1, keepdims=True)
    mad = np.nanmedian(np.abs(dev), axis=-1, keepdims=True)
    mean_ad = np.nanmean(np.abs(dev), axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(mad > 0, 0.6745 * dev / mad, dev / (1.253314 * mean_ad))
    return np.where((mad > 0) | (mean_ad > 0), z, 0.0)


@functools.cache
def outlier_cutoff(n: int) -> float:
    """The modified z-score above which one of `n` values is called an outlier: the
    OUTLIER_QUANTILE quantile of the largest |z| among n normal values, from a seeded
    simulation of OUTLIER_DRAWS samples (so values with no outlier trip it with probability
    1 − OUTLIER_QUANTILE, whatever n); infinite below OUTLIER_MIN_N values: no outlier verdict."""
    if n < OUTLIER_MIN_N:
        return math.inf
    rng = np.random.default_rng(n)
    chunk = max(1, 2_000_000 // n)  # bounded memory for long series
    maxima = [
        np.abs(robust_z(rng.standard_normal((min(chunk, OUTLIER_DRAWS - i), n)))).max(axis=1)
        for i in range(0, OUTLIER_DRAWS, chunk)
    ]
    return float(np.quantile(np.concatenate(maxima), OUTLIER_QUANTILE))


def mad_outliers(values: object) -> np.ndarray:
    """True where a value's modified z-score exceeds `outlier_cutoff` of their count."""
    z = robust_z(values)
    return np.abs(z) > outlier_cutoff(len(z))


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
