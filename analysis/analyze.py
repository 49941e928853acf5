"""One pass from loaded runs to every derived table the figures and reports use."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import findings, native, noise, summary
from analysis.load import Runs
from analysis.steps import step_configs


@dataclass(frozen=True, slots=True)
class Analysis:
    """Loaded runs and what was derived from them (see `summary` and `findings`)."""

    runs: Runs
    trials: pd.DataFrame  # one row per trial, every status; figures from raw rows for ok ones
    configs: pd.DataFrame  # one row per configuration of ok trials, with CIs and flags
    memory: pd.DataFrame  # run_id, trial_id, source, peak_bytes
    break_even: pd.DataFrame
    warnings: list[str]
    steps: pd.DataFrame  # per configuration: per-step statistics, the two overhead estimates


def analyze(runs: Runs) -> Analysis:
    trials, native_notes = native.reconcile(summary.trial_table(runs))
    configs = summary.config_table(trials, runs.epochs)
    return Analysis(
        runs=runs,
        trials=trials,
        configs=configs,
        memory=findings.memory_table(runs, trials),
        break_even=findings.break_even_table(configs),
        warnings=findings.warnings(trials, configs)
        + noise.unstable_warnings(trials, configs, runs.epochs, noise.logical_cpus(runs.meta))
        + findings.loss_warnings(trials, runs.epochs)
        + findings.spec_peak_notes(trials)
        + native_notes,
        steps=step_configs(trials, configs, summary.CONFIG),
    )
