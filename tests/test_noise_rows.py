"""trials.csv's noise columns: from scripted events, and from real fake-runner trials."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fake_e2e import run_fake

from bench.contract.schema import NOISE_TRIAL_COLUMNS
from bench.core.noise_rows import noise_columns, training_samples


def sample(t_s: float, **values: object) -> dict:
    return {"event": "sample", "t_s": t_s, **values}


EPOCHS = [
    {"event": "epoch", "epoch": 1, "start_s": 1.0, "wall_s": 1.0},
    {"event": "epoch", "epoch": 2, "start_s": 2.5, "wall_s": 1.0},  # training: 1.0 to 3.5 s
]


def test_training_samples_are_those_whose_interval_overlaps_the_epochs() -> None:
    times = [0.5, 0.9, 1.1, 2.0, 3.4, 3.6, 3.9]
    picked = training_samples([*EPOCHS, *(sample(t) for t in reversed(times))])
    # (0.9, 1.1] reaches into epoch 1; (3.4, 3.6] starts before the last epoch ends
    assert [s["t_s"] for s in picked] == [1.1, 2.0, 3.4, 3.6]
    assert training_samples([sample(0.1), sample(0.3)]) == [sample(0.1), sample(0.3)]


def test_noise_columns_summarise_snapshots_and_training_samples() -> None:
    events = [
        {"event": "noise_before", "load_avg_1m": 1.5, "cpu_governor": "powersave",
         "cpu_throttle_count": 40},
        *EPOCHS,
        sample(0.2, cpu_steal_pct=50.0, other_cpu_pct=300.0, cpu_freq_mhz=800.0,
               gpu_throttle_reasons=0x1),  # set-up: left out
        sample(1.2, cpu_steal_pct=None, other_cpu_pct=None, cpu_freq_mhz=None),
        sample(2.0, cpu_steal_pct=2.0, other_cpu_pct=10.0, cpu_freq_mhz=3400.0,
               gpu_throttle_reasons=0x20),
        sample(3.0, cpu_steal_pct=4.0, other_cpu_pct=30.0, cpu_freq_mhz=1200.0,
               gpu_throttle_reasons=0x4),
        {"event": "noise_after", "load_avg_1m": 1.9, "cpu_governor": "powersave",
         "cpu_throttle_count": 43},
    ]  # fmt: skip
    assert noise_columns(events) == {
        "load_avg_1m_before": 1.5,
        "cpu_governor": "powersave",
        "cpu_freq_min_mhz": 1200.0,
        "cpu_freq_max_mhz": 3400.0,
        "cpu_steal_pct": 3.0,
        "other_cpu_pct": 20.0,
        "cpu_throttle_count": 3,
        "gpu_throttle_reasons": 0x24,
    }
    assert set(noise_columns(events)) == set(NOISE_TRIAL_COLUMNS)


def test_missing_readings_stay_empty_never_zero() -> None:
    killed = [{"event": "noise_before", "load_avg_1m": 0.5, "cpu_governor": "",
               "cpu_throttle_count": 7}, *EPOCHS]  # fmt: skip
    columns = noise_columns(killed)
    assert columns["load_avg_1m_before"] == 0.5
    sampled_or_after = set(NOISE_TRIAL_COLUMNS) - {"load_avg_1m_before", "cpu_governor"}
    assert all(columns[c] is None for c in sampled_or_after)
    assert columns["cpu_governor"] == ""
    assert noise_columns([])["load_avg_1m_before"] is None


SLEEPING = "phase_s = 0.02\nfirst_step_s = 0.02\nepoch_s = [0.5, 0.4]\nsleep = true\n"


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_a_real_trial_carries_the_noise_columns(tmp_path: Path) -> None:
    run = run_fake(tmp_path, SLEEPING, epochs=3, batch_sizes="[32]")
    assert run.done.returncode == 0, run.done.stderr
    (trial,) = run.trials
    assert float(trial["load_avg_1m_before"]) >= 0
    assert 0 <= float(trial["cpu_steal_pct"]) <= 100
    assert float(trial["other_cpu_pct"]) >= 0
    assert trial["gpu_throttle_reasons"] == ""  # a CPU trial
    if trial["cpu_freq_min_mhz"]:  # a host with cpufreq
        assert 0 < float(trial["cpu_freq_min_mhz"]) <= float(trial["cpu_freq_max_mhz"])
    else:
        assert trial["cpu_freq_max_mhz"] == ""
    assert trial["cpu_throttle_count"] == "" or int(trial["cpu_throttle_count"]) >= 0
    samples = run.tables["samples.csv"]
    assert len(samples) >= 3
    assert all(float(s["load_avg_1m"]) >= 0 for s in samples)
    assert samples[0]["cpu_steal_pct"] == "" and samples[0]["other_cpu_pct"] == ""
    shares = [s for s in samples[1:] if s["cpu_steal_pct"] != ""]
    assert shares and all(float(s["other_cpu_pct"]) >= 0 for s in shares)


def test_a_virtual_time_trial_has_the_snapshot_but_no_samples(tmp_path: Path) -> None:
    run = run_fake(tmp_path, "epoch_s = [1.0]\n", epochs=2, batch_sizes="[32]")
    (trial,) = run.trials
    assert trial["load_avg_1m_before"] != ""  # the parent's snapshot before the spawn
    for column in ("cpu_steal_pct", "other_cpu_pct", "cpu_freq_min_mhz", "gpu_throttle_reasons"):
        assert trial[column] == "", column
    assert run.tables["samples.csv"] == []
