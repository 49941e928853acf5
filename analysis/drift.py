"""Are the "steady" epochs still moving? The rule behind the "not yet steady" warning.

The unit is the repeat, as everywhere: the epochs of one process share its state (on a VM they
are correlated, AR(1) 0.5–0.7), so a test that treats them as independent draws cries wolf —
Kendall's τ on the per-epoch medians flagged 14–34 % of stationary configurations with such
epochs. Each repeat (a fresh process) instead gives one number, its relative drift: the
Theil–Sen slope of its steady epochs divided by their median, times the window (epochs 2..E).
A configuration is flagged only when all of these hold (calibrated by `scripts/simulate_verdicts.py`
and tests/test_analysis_calibration.py: stationary epochs, AR(1) 0.7 inside a process, trip it
in at most 5 % of configurations):

1. at least TREND_MIN_REPEATS repeats with at least TREND_MIN_EPOCHS steady epochs each
   (with fewer the drift is *not tested*, and the report says so);
2. their mean relative drift differs from 0: a one-sample t-test (`scipy.stats.ttest_1samp`)
   over the repeats, two-sided p < TREND_ALPHA — the repeats are independent, whatever the
   epochs inside each do;
3. the mean drift exceeds TREND_DRIFT of the median across the window, and TREND_NOISE_K
   times the epoch-to-epoch noise (`epoch_noise`: a robust SD of successive differences,
   which a linear drift does not inflate) — a drift smaller than the wiggles is not worth a
   warning, and repeats that happen to agree exactly (a scripted run) cannot fake one;
4. at least TREND_AGREE of the repeats drift the same way on their own.

A slow *last* epoch is not drift (a framework's loop may do extra work as `fit` ends; more epochs
would not remove it). `final_epoch` detects it on its own: in a repeat with at least
FINAL_MIN_EPOCHS steady epochs, the last is slow when its log time lies above the one-sided
(1 − FINAL_ALPHA) prediction bound of the other steady epochs' log times (Student's t with
their sample SD: under log-normal epoch noise a drift-free repeat trips it with probability
FINAL_ALPHA) and exceeds their median by more than FINAL_MIN. A configuration is flagged when
the median excess over repeats exceeds FINAL_MIN and at least TREND_AGREE of the repeats have a
slow last epoch. Where it is found, the drift test runs on the steady epochs without the last.
The steady median (`steady_epoch_s`) keeps the last epoch: with ≥ 4 steady epochs one slow epoch
moves a median by at most half the gap between its two middle values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

from analysis import stats

TREND_MIN_EPOCHS = 5  # steady epochs per repeat: a slope of fewer says little
TREND_MIN_REPEATS = 3  # repeats: a t-test over 2 has 1 degree of freedom
TREND_ALPHA = 0.05
TREND_DRIFT = 0.05  # change across the window, relative to the median
TREND_NOISE_K = 2.0  # ... and at least this many epoch-noise SDs
TREND_AGREE = 2 / 3  # share of repeats whose own Theil–Sen slope has the same sign
MAD_TO_SD = 1.4826  # a normal distribution's SD / its MAD
FINAL_MIN_EPOCHS = 4  # steady epochs: the last plus three to measure the noise against
FINAL_MIN = 0.10  # the last epoch's excess over the others' median, relative
FINAL_ALPHA = 0.01  # one-sided level of the prediction bound the last epoch must exceed


@dataclass(frozen=True, slots=True)
class Trend:
    """Drift of the steady epochs: the mean over repeats of each repeat's relative drift
    (Theil–Sen change across its window / its median), the t-test's p, the share of repeats
    agreeing in sign with the mean, whether the test could run, and the verdict."""

    drift: float
    p: float
    agree: float
    tested: bool
    not_steady: bool


UNTESTED = Trend(math.nan, math.nan, math.nan, False, False)


def epoch_noise(series: Sequence[np.ndarray]) -> float:
    """Relative epoch-to-epoch noise: per repeat 1.4826·MAD of the successive differences
    around their median, / √2 (a difference holds two epochs' noise), / the repeat's median;
    the median over repeats. A linear drift shifts the differences but does not widen them."""
    out = []
    for r in series:
        d = np.diff(r)
        mad = stats.median(np.abs(d - stats.median(d)))
        out.append(MAD_TO_SD * mad / math.sqrt(2) / stats.median(r))
    return stats.median(out)


def theil_sen(y: np.ndarray) -> float:
    """The Theil–Sen slope of `y` against 0, 1, 2, …: the median of the slopes of all pairs,
    as `scipy.stats.theilslopes(y).slope` computes it without its interval (whose scipy call
    costs ~1 ms, paid once per configuration); NaN for fewer than two values."""
    i, j, gap = _pairs(len(y))
    return stats.median((y[j] - y[i]) / gap)


@functools.cache
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair i < j of n points, and j − i (numpy builds them in ~0.1 ms; the same few
    lengths recur for every configuration)."""
    i, j = np.triu_indices(n, 1)
    return i, j, (j - i).astype(float)


def relative_drift(series: np.ndarray) -> float:
    """One repeat's drift: its Theil–Sen slope × (epochs − 1) / its median."""
    return theil_sen(series) * (len(series) - 1) / stats.median(series)


def one_sample_p(values: np.ndarray) -> float:
    """Two-sided p of the one-sample t-test of mean 0, as `scipy.stats.ttest_1samp` gives it
    (from Student's t distribution, `scipy.special.stdtr`: the wrapper costs ~1 ms a call,
    paid once per configuration); 0 or 1 when every value is the same."""
    mean = float(np.mean(values))
    if np.ptp(values) == 0:
        return 1.0 if mean == 0 else 0.0
    t = mean / (float(np.std(values, ddof=1)) / math.sqrt(len(values)))
    return float(2 * special.stdtr(len(values) - 1, -abs(t)))


def trend(repeats: Sequence[np.ndarray]) -> Trend:
    """The drift verdict for one configuration, from each repeat's steady epoch times in
    epoch order. See the module docstring for the rule."""
    series = [a[~np.isnan(a)] for a in (np.asarray(r, dtype=float) for r in repeats)]
    series = [a for a in series if len(a) >= TREND_MIN_EPOCHS and (a > 0).all()]
    if len(series) < TREND_MIN_REPEATS:
        return UNTESTED
    drifts = np.array([relative_drift(a) for a in series])
    mean = float(np.mean(drifts))
    p = one_sample_p(drifts)
    agree = float(np.mean(np.sign(drifts) == np.sign(mean)))
    large = abs(mean) > max(TREND_DRIFT, TREND_NOISE_K * epoch_noise(series))
    flagged = p < TREND_ALPHA and large and agree >= TREND_AGREE
    return Trend(mean, p, agree, True, bool(flagged))


@dataclass(frozen=True, slots=True)
class FinalEpoch:
    """A slow last epoch: its excess over the median of the other steady epochs (relative;
    median over repeats), the share of repeats where it exceeds the threshold, the verdict."""

    excess: float
    share: float
    flagged: bool


NO_FINAL = FinalEpoch(math.nan, math.nan, False)


def final_epoch(repeats: Sequence[np.ndarray]) -> FinalEpoch:
    """The final-epoch verdict for one configuration, from each repeat's steady epoch times in
    epoch order. See the module docstring for the rule."""
    series = [a[~np.isnan(a)] for a in (np.asarray(r, dtype=float) for r in repeats)]
    series = [a for a in series if len(a) >= FINAL_MIN_EPOCHS and (a > 0).all()]
    if not series:
        return NO_FINAL
    excess = np.array([a[-1] / stats.median(a[:-1]) - 1 for a in series])
    slow = [
        _above_prediction(np.log(a)) and e > FINAL_MIN for a, e in zip(series, excess, strict=True)
    ]
    share, median = float(np.mean(slow)), stats.median(excess)
    return FinalEpoch(median, share, bool(median > FINAL_MIN and share >= TREND_AGREE))


def _above_prediction(logs: np.ndarray) -> bool:
    """Is the last value above the one-sided prediction bound of the values before it?"""
    others, n = logs[:-1], len(logs) - 1
    sd = float(np.std(others, ddof=1))
    if sd == 0:
        return bool(logs[-1] > others[0])
    t = (logs[-1] - np.mean(others)) / (sd * math.sqrt(1 + 1 / n))
    return bool(t > _t_bound(n - 1))


@functools.cache
def _t_bound(df: int) -> float:
    """Student's t quantile 1 − FINAL_ALPHA (scipy's `ppf` costs ~0.3 ms a call)."""
    return float(sps.t.ppf(1 - FINAL_ALPHA, df))
