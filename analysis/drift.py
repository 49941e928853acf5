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
3. the Theil–Sen line of those medians (`scipy.stats.theilslopes`) changes by more than
   TREND_DRIFT of the median across the window, and by more than TREND_NOISE_K times the
   epoch-to-epoch noise (a robust SD of successive differences, which a linear drift does not
   inflate);
4. with several repeats, at least TREND_AGREE of them drift the same way on their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

TREND_MIN_EPOCHS = 5
TREND_ALPHA = 0.05
TREND_DRIFT = 0.05  # change across the window, relative to the median
TREND_NOISE_K = 2.0  # ... and at least this many epoch-noise SDs
TREND_AGREE = 2 / 3  # share of repeats whose own Theil–Sen slope has the same sign
MAD_TO_SD = 1.4826  # a normal distribution's SD / its MAD


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
            mad = np.median(np.abs(d - np.median(d)))
            out.append(MAD_TO_SD * mad / math.sqrt(2) / np.median(r))
    return float(np.median(out)) if out else math.nan


def _agreeing(repeats: Sequence[np.ndarray], sign: float) -> float:
    slopes = [
        sps.theilslopes(r).slope for r in (np.asarray(r, dtype=float) for r in repeats) if len(r)
    ]
    return float(np.mean(np.sign(slopes) == sign)) if slopes else math.nan


def trend(repeats: Sequence[np.ndarray]) -> Trend:
    """The drift verdict for one configuration, from each repeat's steady epoch times in
    epoch order (a single series: `trend([y])`). See the module docstring for the rule."""
    relative = [np.asarray(r, dtype=float) / np.nanmedian(r) for r in repeats if len(r)]
    series = per_epoch_median(relative)  # each repeat on its own scale: no process speed
    series = series[~np.isnan(series)]
    median = float(np.median(series)) if len(series) else 0.0
    if len(series) < 2 or median <= 0 or np.ptp(series) == 0:
        return FLAT
    slope = float(sps.theilslopes(series).slope)
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
