"""From loaded runs to every derived table the figures and reports use.

`analyze` computes what every reader needs (one row per trial, one per configuration); the
rest — memory peaks, compile break-even, warnings, per-step statistics — is computed the first
time a reader asks for it (`compare` never does), then kept. The report's figure workers are
forked after the report has asked for what it prints, so a worker inherits those; a table only
a figure uses (the memory peaks) is computed in that figure's worker alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from analysis import findings, native, noise, summary
from analysis.load import Runs
from analysis.steps import step_configs


@dataclass(frozen=True)
class Analysis:
    """Loaded runs and what was derived from them (see `summary` and `findings`)."""

    runs: Runs
    trials: pd.DataFrame  # one row per trial, every status; figures from raw rows for ok ones
    configs: pd.DataFrame  # one row per configuration of ok trials, with CIs and flags
    native_notes: list[str]  # where a native model's counts disagree with its record

    @cached_property
    def memory(self) -> pd.DataFrame:
        """run_id, trial_id, source, peak_bytes."""
        return findings.memory_table(self.runs, self.trials)

    @cached_property
    def break_even(self) -> pd.DataFrame:
        return findings.break_even_table(self.configs)

    @cached_property
    def warnings(self) -> list[str]:
        trials, configs, epochs = self.trials, self.configs, self.runs.epochs
        cpus = noise.logical_cpus(self.runs.meta)
        return (
            findings.warnings(trials, configs)
            + noise.unstable_warnings(trials, configs, epochs, cpus)
            + findings.loss_warnings(trials, epochs)
            + findings.spec_peak_notes(trials)
            + self.native_notes
        )

    @cached_property
    def steps(self) -> pd.DataFrame:
        """Per configuration: per-step statistics, the two overhead estimates."""
        return step_configs(self.trials, self.configs, summary.CONFIG)


def analyze(runs: Runs) -> Analysis:
    trials, native_notes = native.reconcile(summary.trial_table(runs))
    return Analysis(runs, trials, summary.config_table(trials, runs.epochs), native_notes)
