"""Ctrl-C during a sweep, then `--resume`: every trial exactly once, nothing measured lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO, only_run_dir, read_csv, run_cli

CONFIG = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cpu"]
repeats = 3
[train]
epochs = 4
samples = 640
[fake]
sleep = true
phase_s = 0.05
first_step_s = 0.1
epoch_s = [0.6]
"""


def _wait_for_epoch_rows(run_parent, timeout=30.0):
    """Until the first trial's child has reported an epoch (its events file has one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for events in run_parent.glob("*/tmp/*/events.jsonl"):
            if '"epoch"' in events.read_text():
                return
        time.sleep(0.05)
    raise AssertionError("no trial reported an epoch")


def test_sigint_then_resume_runs_every_trial_exactly_once(tmp_path):
    cfg = tmp_path / "bench.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--config", str(cfg), "--out", str(out)],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_epoch_rows(out)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    run_dir = only_run_dir(out)
    first = read_csv(run_dir / "trials.csv")
    assert [t["status"] for t in first] == ["interrupted"]
    assert json.loads((run_dir / "run.json").read_text())["interrupted"] is True
    assert not list(run_dir.glob("tmp/*")), "no child or scratch files left behind"

    done = run_cli("run", "--resume", str(run_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    trials = read_csv(run_dir / "trials.csv")
    assert sorted(t["trial_id"] for t in trials) == sorted({t["trial_id"] for t in trials})
    assert len(trials) == 3 and {t["status"] for t in trials} == {"ok"}
    epochs = read_csv(run_dir / "epochs.csv")
    assert len(epochs) == 3 * 4, "the interrupted trial's partial epochs were replaced"
    phases = read_csv(run_dir / "phases.csv")
    assert len(phases) == 3 * 9
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["interrupted"] is False and len(meta["resumed"]) == 1

    again = run_cli("run", "--resume", str(run_dir))
    assert again.returncode == 0
    assert len(read_csv(run_dir / "trials.csv")) == 3, "resuming a finished run adds nothing"


def test_resume_refuses_other_schema_versions_and_flags(tmp_path):
    cfg = tmp_path / "bench.toml"
    cfg.write_text(CONFIG.replace("sleep = true", "sleep = false"))
    assert run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "o")).returncode == 0
    run_dir = only_run_dir(tmp_path / "o")
    mixed = run_cli("run", "--resume", str(run_dir), "--epochs", "9")
    assert mixed.returncode == 2 and "--epochs" in mixed.stderr
    meta = json.loads((run_dir / "run.json").read_text())
    meta["schema_version"] = 0
    (run_dir / "run.json").write_text(json.dumps(meta))
    old = run_cli("run", "--resume", str(run_dir))
    assert old.returncode == 2 and "schema version 0" in old.stderr
    assert "Traceback" not in old.stderr
    missing = run_cli("run", "--resume", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "run.json" in missing.stderr


def test_child_environment_is_filtered():
    from bench.hardware.device_env import inherited_env

    env = inherited_env(
        {
            "PATH": "/bin",
            "AWS_SECRET_ACCESS_KEY": "x",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "LC_ALL": "C",
            "GITHUB_TOKEN": "y",
            "CUDA_HOME": "/cuda",
        }
    )
    assert env == {"PATH": "/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "LC_ALL": "C", "CUDA_HOME": "/cuda"}
