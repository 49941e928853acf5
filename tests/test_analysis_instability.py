"""The "may be unstable" rules and warnings: calibrated by seeded simulation, then named causes.

- multi-modal steady epochs: unimodal epoch noise of three shapes trips the rule in under 5 % of
  configurations at every size simulated; a real second mode is caught;
- repeats that disagree beyond their own intervals;
- warnings that name the cause from the noise columns, on synthetic runs and in the report of a
  scripted fake-runner result folder.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
from analysis_synth import make_runs
from test_analysis_support import copy_run, fake_run

from analysis import instability, simulate
from analysis.analyze import analyze
from analysis.noise import ADVICE, causes
from analysis.report import write_report

CONFIGS = 500  # per simulated cell
SIZES = [(1, 7), (1, 16), (2, 6), (3, 6), (3, 11), (6, 21)]  # (repeats, epochs incl. epoch 1)


def unimodal(rng: np.random.Generator, shape: str, n: int) -> np.ndarray:
    """n epoch-noise factors of one mode: 2 % lognormal, 2 % Student-t (3 df), 30 % lognormal."""
    if shape == "lognormal":
        return rng.lognormal(0, 0.02, n)
    if shape == "t3":
        return np.exp(0.02 * rng.standard_t(3, n))
    return rng.lognormal(0, 0.30, n)


@pytest.mark.parametrize("shape", ["lognormal", "t3", "wide"])
def test_unimodal_noise_is_rarely_called_multimodal(shape: str) -> None:
    rng = np.random.default_rng({"lognormal": 1, "t3": 2, "wide": 3}[shape])
    for repeats, epochs in SIZES:
        flagged = 0
        for _ in range(CONFIGS):
            # each process its own speed (8 %), each epoch its own noise
            walls = [
                rng.lognormal(0, 0.08) * unimodal(rng, shape, epochs - 1) for _ in range(repeats)
            ]
            verdict = instability.modes(walls)
            flagged += bool(verdict and verdict.multimodal)
        assert flagged / CONFIGS < 0.05, (shape, repeats, epochs, flagged / CONFIGS)


def test_a_second_mode_is_caught() -> None:
    rng = np.random.default_rng(4)
    caught = 0
    for _ in range(200):  # 3 repeats × 10 steady epochs, each epoch 15 % slower with p = 0.3
        walls = [
            rng.lognormal(0, 0.08)
            * rng.lognormal(0, 0.02, 10)
            * np.where(rng.random(10) < 0.3, 1.15, 1.0)
            for _ in range(3)
        ]
        verdict = instability.modes(walls)
        caught += bool(verdict and verdict.multimodal)
    assert caught / 200 >= 0.8


def test_two_groups_is_the_exact_two_means_split() -> None:
    split = instability.two_groups(np.array([1.0, 1.01, 0.99, 1.0, 1.3, 1.31, 1.29]))
    assert split is not None
    n_low, low, high, separation = split
    assert (n_low, low, high) == (4, pytest.approx(1.0), pytest.approx(1.3))
    assert separation == pytest.approx(0.3 / math.sqrt(0.0004 / 5))  # SSE 0.0002 + 0.0002
    assert instability.two_groups(np.ones(5)) is None  # too few for two groups of 3
    same = instability.two_groups(np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]))
    assert same is not None and math.isinf(same[3])
    assert instability.modes([np.array([1.0, 2.0, 1.0, 2.0, 1.0, 2.0])]).multimodal


def test_too_few_epochs_give_no_verdict() -> None:
    assert instability.modes([np.array([1.0, 2.0, 1.0, 2.0, 1.0])]) is None
    assert instability.modes([np.array([1.0, 2.0])] * 5) is None  # repeats of 2 epochs count not
    assert instability.disagreement([np.array([1.0, 1.1, 1.2])]) is None


def test_repeats_disagree_only_beyond_their_intervals_and_ten_percent() -> None:
    fast = np.array([1.00, 1.01, 0.99, 1.02, 0.98])
    verdict = instability.disagreement([fast, fast * 1.2, fast * 1.01])
    assert verdict is not None and verdict.disagree
    assert (verdict.fast, verdict.slow) == (0, 1)
    assert verdict.shift == pytest.approx(0.2)
    assert (verdict.slow_ci.low, verdict.fast_ci.high) == (pytest.approx(1.176), 1.02)
    overlapping = np.array([0.85, 1.4, 1.0, 1.3, 1.1])  # × 1.15: 0.98 to 1.61
    assert not instability.disagreement([fast, overlapping * 1.15]).disagree
    assert not instability.disagreement([fast, fast * 1.08]).disagree  # disjoint, but only 8 %


@pytest.fixture
def steady_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Synthetic processes that differ by 1 %, not the development machine's 8 %: only the
    disturbed repeat disagrees."""
    monkeypatch.setattr(simulate, "LAB", simulate.Noise(spread=0.01))


def noisy_runs(**noise: object):
    """3 configurations × 3 repeats of synthetic epochs; repeat 2 of model m1 is 30 % slower."""
    runs = make_runs(["a"], [{"model": f"m{i}"} for i in range(3)], repeats=3, seed=8)
    trials, epochs = runs.trials, runs.epochs
    slow = trials.loc[(trials["model"] == "m1") & (trials["repeat"] == 2), "trial_id"].item()
    epochs.loc[epochs["trial_id"] == slow, "wall_s"] *= 1.3
    for column, value in noise.items():
        trials[column] = trials[column].astype(object)
        trials.loc[trials["trial_id"] == slow, column] = value
    trials["cpu_steal_pct"] = trials["cpu_steal_pct"].fillna(0.0).astype(float)
    trials["other_cpu_pct"] = trials["other_cpu_pct"].astype(float).fillna(5.0)
    return runs


def unstable(runs) -> list[str]:
    return [w for w in analyze(runs).warnings if "may be unstable" in w]


def test_a_disturbed_repeat_is_named_with_its_cause(steady_processes: None) -> None:
    (warning,) = unstable(noisy_runs(other_cpu_pct=80.0))
    assert warning.startswith("m1 · cpu · fake scripted: may be unstable — its repeats disagree")
    assert re.search(
        r"repeat 2 took 1\.\d+ s \[[\d.]+, [\d.]+\], 3\d% more than repeat [01] ", warning
    )
    assert warning.endswith("likely cause: other processes used 80 % of a core during repeat 2.")
    assert analyze(noisy_runs(other_cpu_pct=80.0)).warnings[-1] == ADVICE


def test_causes_name_steal_throttling_frequency_and_load(steady_processes: None) -> None:
    runs = noisy_runs(
        cpu_steal_pct=12.0,
        gpu_throttle_reasons=0x1 | 0x40,  # idle does not count, HW thermal does
        cpu_freq_min_mhz=1200.0,
        cpu_freq_max_mhz=3400.0,
        cpu_governor="powersave",
        load_avg_1m_before=9.0,
    )
    runs.meta["a"] = {"run_id": "a", "host": {"cpu_logical_cores": 4}}
    (warning,) = unstable(runs)
    assert (
        "likely causes: CPU steal 12 % during repeat 2; GPU throttled: thermal during repeat 2"
        in (warning)
    )
    assert "CPU frequency varied 1.2–3.4 GHz (governor powersave)" in warning
    assert "load average 9.0 on 4 CPUs before repeat 2" in warning


def test_quiet_or_unrecorded_noise_is_said_so(steady_processes: None) -> None:
    (quiet,) = unstable(noisy_runs())
    assert "no recorded noise source stands out" in quiet
    runs = noisy_runs()
    runs.trials["cpu_steal_pct"] = np.nan
    runs.trials["other_cpu_pct"] = np.nan
    (old,) = unstable(runs)
    assert "no noise was recorded (a result folder before schema version 5" in old
    group = runs.trials.iloc[:1]
    assert causes(group, group).startswith("no noise was recorded")


def test_the_report_warns_of_bimodal_epochs_and_names_the_cause(tmp_path: Path) -> None:
    """A scripted folder: the fake runner's epochs alternate 1.0 s and 1.3 s in one process;
    its trials.csv then says other processes used 1.5 cores."""
    run = copy_run(fake_run("bimodal", epoch_s=(2.0, 1.0, 1.3, 1.0, 1.3, 1.0, 1.3, 1.0)), tmp_path)
    path = run / "trials.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[0]["other_cpu_pct"] = "150.0"
    rows[0]["load_avg_1m_before"] = "0.5"  # not this shared machine's real load
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_report([run], tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "may be unstable — its steady epochs fall into two groups 30% apart" in text
    assert "(4 fast, 3 slow epochs; no spread within either group)" in text
    assert "likely cause: other processes used 1.5 cores during repeat 0." in text
