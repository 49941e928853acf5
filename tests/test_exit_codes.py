"""Every exit code of docs/cli.md's "Exit codes" table, one test each (or the test named beside
it).

`bench run` exits 0 only when at least one trial was measured and every planned trial ended ok
or was skipped by the plan; a failed trial, a framework the sweep names that is not installed,
or nothing measured at all exits 1. Where a code needs a failure this machine cannot produce on
demand (a framework missing, a GPU check failing, a harness over its target), the one function
that decides it is replaced and the command runs otherwise for real. Codes tested elsewhere:
`run` 130 (tests/test_resume.py), `compare` 0, 1, 3, 4 and a bad `--fail-above`
(tests/test_compare_gate.py), `status` 0 (tests/test_launcher_submitit.py), `calibrate` 0
(tests/test_calibrate.py), `doctor` 0 and 2 (tests/test_doctor.py), `models --verify` 0 and 2
(tests/test_verify_cli.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, only_run_dir, run_cli

from bench.__main__ import main

FAKE = """
[sweep]
frameworks = ["{framework}"]
models = ["{model}"]
devices = ["cpu"]
threads = [1]
repeats = 2
warmup = 0
[train]
epochs = 3
samples = 128
[fake]
fail = "{fail}"
"""


def config(tmp_path: Path, framework: str = "fake", model: str = "seed_ffnn", fail: str = "none"):
    path = tmp_path / "bench.toml"
    path.write_text(FAKE.format(framework=framework, model=model, fail=fail), encoding="utf-8")
    return path


def run(tmp_path: Path, *extra: str, **sweep: str) -> subprocess.CompletedProcess:
    path = config(tmp_path, **sweep)
    out = tmp_path / "out"
    return run_cli("run", "--config", str(path), "--out", str(out), "--no-report", *extra,
                   cwd=tmp_path)  # fmt: skip


# --- bench run --------------------------------------------------------------------------------


def test_run_0_every_trial_ok(tmp_path) -> None:
    done = run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "did not finish" not in done.stdout and "nothing was measured" not in done.stdout


def test_run_1_a_trial_failed(tmp_path) -> None:
    done = run(tmp_path, fail="raise")
    assert done.returncode == 1
    assert "2 trial(s) did not finish" in done.stdout and "nothing was measured" in done.stdout


def test_run_1_nothing_measured_every_trial_skipped_by_the_plan(tmp_path) -> None:
    # the NumPy runner lacks xception's layers: both trials are planned `skipped`
    done = run(tmp_path, framework="numpy", model="xception")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing was measured: none of the 2 trial(s) finished ok" in done.stdout
    assert "0/2 ok (2 skipped)" in done.stdout


def test_run_1_a_named_framework_is_not_installed(tmp_path) -> None:
    """The fake framework made to need a module that does not exist: its trials are skipped as
    not installed, which a script must not read as success."""
    path = config(tmp_path)
    patch = (
        "import sys, bench.core.sweep as s; s.REQUIRED_MODULES['fake'] = ('no_such_module_xyz',);"
        " s.INSTALL_HINT['fake'] = 'pip install no_such_module_xyz';"
        " from bench.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    args = ["run", "--config", str(path), "--out", str(tmp_path / "out"), "--no-report"]
    done = subprocess.run(
        [sys.executable, "-c", patch, *args],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 trial(s) not run: fake is not installed" in done.stdout
    assert "nothing was measured" in done.stdout


def test_run_2_a_bad_value(tmp_path) -> None:
    done = run(tmp_path, "--repeats", "0")
    assert done.returncode == 2 and "[sweep] repeats" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_resume_of_a_finished_run_is_0_and_runs_nothing(tmp_path) -> None:
    assert run(tmp_path).returncode == 0
    folder = only_run_dir(tmp_path / "out")
    done = run_cli("run", "--resume", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("nothing to resume: every planned trial of")
    assert "(2 trials: 2 ok)" in done.stdout and "summary" not in done.stdout


def test_run_json_statuses_are_counts(tmp_path) -> None:
    import json

    done = run(tmp_path, "--json", framework="numpy", model="xception")
    document = json.loads(done.stdout)
    assert done.returncode == document["exit_code"] == 1
    assert [c["statuses"] for c in document["configurations"]] == [{"skipped": 2}]


# --- the other subcommands ----------------------------------------------------------------------


def test_bare_bench_is_0_and_an_unknown_command_2(tmp_path) -> None:
    assert run_cli(cwd=tmp_path).returncode == 0
    done = run_cli("frobnicate", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_report_0_and_2(tmp_path) -> None:
    assert run(tmp_path).returncode == 0
    folder = only_run_dir(tmp_path / "out")
    assert (
        run_cli("report", str(folder), "--dest", str(tmp_path / "r"), cwd=tmp_path).returncode == 0
    )
    done = run_cli("report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_compare_2_not_a_run_folder(tmp_path) -> None:
    done = run_cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_status_2_not_a_cluster_run(tmp_path) -> None:
    assert run(tmp_path).returncode == 0
    done = run_cli("status", str(only_run_dir(tmp_path / "out")), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_devices_0(tmp_path) -> None:
    done = run_cli("devices", cwd=tmp_path)
    assert done.returncode == 0 and "cpu" in done.stdout


def test_models_0_and_2(tmp_path) -> None:
    assert run_cli("models", cwd=tmp_path).returncode == 0
    done = run_cli("models", "no_such_model", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_models_verify_1_when_the_checking_process_fails(monkeypatch, capsys) -> None:
    import bench.cli.verify as verify

    def failing(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "scripted failure")

    monkeypatch.setattr(verify.subprocess, "run", failing)
    assert main(["models", "--verify", "seed_ffnn"]) == 1
    assert "the checking process failed: scripted failure" in capsys.readouterr().err


def test_calibrate_1_when_a_measurement_fails_and_2_for_a_bad_flag(
    tmp_path, monkeypatch, capsys
) -> None:
    import bench.cli.calibrate as calibrate

    failed = [{"framework": "torch", "status": "failed", "error": "scripted"}]
    monkeypatch.setattr(calibrate, "calibrate", lambda *a, **k: failed)
    assert main(["calibrate", "--frameworks", "torch", "--out", str(tmp_path)]) == 1
    assert main(["calibrate", "--devices", "no_such_device", "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize(("harness", "code"), [(1.0, 0), (1.5, 1)])
def test_selfcheck_0_within_target_and_1_above(monkeypatch, capsys, harness, code) -> None:
    import bench.cli.selfcheck as selfcheck

    times = {
        "bare": [1.0] * 3,
        "harness": [harness] * 3,
        "no sampler": [1.0] * 3,
        "no steps": [1.0] * 3,
    }
    monkeypatch.setattr(selfcheck, "_rounds", lambda trial, rounds: times)
    assert main(["selfcheck", "--frameworks", "numpy", "--models", "seed_ffnn"]) == code
    assert ("ABOVE target" in capsys.readouterr().out) == bool(code)


def test_doctor_1_when_a_check_fails(monkeypatch, capsys) -> None:
    import bench.hardware.probe as probe

    monkeypatch.setattr(probe, "run_probe", lambda framework, backend, **kw: {"error": "scripted"})
    assert main(["doctor", "--frameworks", "torch", "--devices", "cpu"]) == 1
    assert "FAIL" in capsys.readouterr().out
