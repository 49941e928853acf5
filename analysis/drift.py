"""Are the "steady" epochs still moving? The rule behind the "not yet steady" warning.

A configuration is flagged only when all of these hold (calibrated by simulation in
tests/test_analysis_calibration.py: drift-free series with 2 % epoch noise trip it well under
5 % of the time, a drift of 3 % per epoch over 6 steady epochs is caught):

1. at least TREND_MIN_EPOCHS steady epochs — with fewer, Kendall's exact test cannot reach
   p < 0.05 (its smallest two-sided p with 4 points is 2/24 = 0.083);
2. the per-epoch medians over repeats (each repeat divided by its own median first, so that
   process-to-process speed does not hide the shared drift) move one way: Kendall's τ against
   the epoch number, `scipy.stats.kendalltau`, p < TREND_ALPHA — an exact, distribution-free
   test, so whatever the noise, drift-free series pass this gate at most 5 % of the time;
3. the Theil–Sen line of those medians (`theil_sen`: the slope `scipy.stats.theilslopes` gives)
   changes by more than TREND_DRIFT of the median across the window, and by more than
   TREND_NOISE_K times the epoch-to-epoch noise (a robust SD of successive differences, which a
   linear drift does not inflate);
4. with several repeats, at least TREND_AGREE of them drift the same way on their own.

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
from scipy import stats as sps

from analysis import stats

TREND_MIN_EPOCHS = 5
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
    """Drift of the steady epochs: Theil–Sen slope per epoch (relative to the median), total
    change across the window relative to the median, Kendall's τ and p, relative epoch noise
    (SD), share of repeats agreeing in sign."""

    slope: float
    drift: float
    tau: float
    p: float
    noise: float
    agree: float
    not_steady: bool


FLAT = Trend(0.0, 0.0, 0.0, 1.0, math.nan, math.nan, False)


def per_epoch_median(repeats: Sequence[np.ndarray]) -> np.ndarray:
    """Median over repeats of each steady epoch (shorter trials padded with NaN)."""
    arrays = [np.asarray(r, dtype=float) for r in repeats]
    if not arrays:
        return np.array([])
    width = max(len(a) for a in arrays)
    if all(len(a) == width for a in arrays):
        return np.median(np.vstack(arrays), axis=0)
    padded = np.full((len(arrays), width), np.nan)
    for i, a in enumerate(arrays):
        padded[i, : len(a)] = a
    return np.nanmedian(padded, axis=0)


def epoch_noise(repeats: Sequence[np.ndarray]) -> float:
    """Relative epoch-to-epoch noise: per repeat 1.4826·MAD of the successive differences
    around their median, / √2 (a difference holds two epochs' noise), / the repeat's median;
    the median over repeats. A linear drift shifts the differences but does not widen them."""
    out = []
    for r in repeats:
        r = np.asarray(r, dtype=float)
        r = r[~np.isnan(r)]
        if len(r) >= 3:
            d = np.diff(r)
            mad = stats.median(np.abs(d - stats.median(d)))
            out.append(MAD_TO_SD * mad / math.sqrt(2) / stats.median(r))
    return stats.median(out)


def theil_sen(y: np.ndarray) -> float:
    """The Theil–Sen slope of `y` against 0, 1, 2, …: the median of the slopes of all pairs,
    as `scipy.stats.theilslopes(y).slope` computes it without its interval (whose scipy call
    costs ~1 ms, paid once per configuration); NaN for fewer than two values."""
    i, j = np.triu_indices(len(y), 1)
    return stats.median((y[j] - y[i]) / (j - i))


def _agreeing(repeats: Sequence[np.ndarray], sign: float) -> float:
    slopes = [theil_sen(r) for r in (np.asarray(r, dtype=float) for r in repeats) if len(r)]
    return float(np.mean(np.sign(slopes) == sign)) if slopes else math.nan


def trend(repeats: Sequence[np.ndarray]) -> Trend:
    """The drift verdict for one configuration, from each repeat's steady epoch times in
    epoch order (a single series: `trend([y])`). See the module docstring for the rule."""
    relative = [np.asarray(r, dtype=float) / stats.median(r) for r in repeats if len(r)]
    series = per_epoch_median(relative)  # each repeat on its own scale: no process speed
    series = series[~np.isnan(series)]
    median = stats.median(series) if len(series) else 0.0
    if len(series) < 2 or median <= 0 or np.ptp(series) == 0:
        return FLAT
    slope = theil_sen(series)
    drift = slope * (len(series) - 1) / median
    if len(series) < TREND_MIN_EPOCHS or abs(drift) <= TREND_DRIFT:
        return Trend(slope, drift, math.nan, math.nan, math.nan, math.nan, False)
    tau, p = sps.kendalltau(np.arange(len(series)), series)
    noise = epoch_noise(repeats)
    agree = _agreeing(repeats, np.sign(drift)) if len(repeats) > 1 else 1.0
    flagged = (
        p < TREND_ALPHA
        and not abs(drift) <= TREND_NOISE_K * noise  # NaN noise (no 3 epochs) cannot veto
        and agree >= TREND_AGREE
    )
    return Trend(slope, drift, float(tau), float(p), noise, agree, bool(flagged))


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
