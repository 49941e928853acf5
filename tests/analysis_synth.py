"""Synthetic runs for the analysis tests: `analysis.simulate` (its noise model is the review of
issue 19's: 8 % process-to-process spread, 2 % epoch-to-epoch noise), under the names the
tests import."""

from __future__ import annotations

from analysis.simulate import LAB, Noise, join_runs, make_runs, trial_view

SPREAD, NOISE = LAB.spread, LAB.epoch  # process-to-process and epoch-to-epoch (log SD)

__all__ = ["NOISE", "SPREAD", "Noise", "join_runs", "make_runs", "trial_view"]
