"""`bench compare` as a CI gate, end to end on the scripted fake framework: a slower
configuration is starred and fails `--fail-above`, the same sweep passes, runs that do not align
(or give no verdict) never pass as "no difference", and the comparison is machine-readable.

Every sweep: 4 configurations (models) × 4 repeats; `[fake] slow_models` / `slowdown` make one
configuration slower. Each test names its own `--out`, `--config` and working folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import only_run_dir, run_cli

MODELS = ["seed_ffnn", "seed_cnn", "seed001_cnn", "shallow_cnn"]
SWEEP = """
[sweep]
frameworks = ["fake"]
models = {models}
devices = ["cpu"]
threads = [1]
repeats = {repeats}
warmup = 0

[train]
epochs = {epochs}
samples = 128

[fake]
phase_s = 0.5
first_step_s = 1.0
epoch_s = [4.0, 2.0]
{slow}
"""


def sweep(root: Path, name: str, *, repeats: int = 4, epochs: int = 6, slow: str = "") -> Path:
    """Run one fake sweep into root/name; return its run folder."""
    work = root / name
    work.mkdir()
    config = work / "bench.toml"
    text = SWEEP.format(models=json.dumps(MODELS), repeats=repeats, epochs=epochs, slow=slow)
    config.write_text(text, encoding="utf-8")
    out = work / "out"
    done = run_cli("run", "--config", str(config), "--out", str(out), "--name", name,
                   "--no-report", cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return only_run_dir(out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    return {
        "base": sweep(root, "base"),
        "slow": sweep(root, "slow", slow='slow_models = ["seed_cnn"]\nslowdown = 1.5'),
        "same": sweep(root, "same"),
        "epochs": sweep(root, "epochs", epochs=5),
        "three": sweep(root, "three", repeats=3),
    }


def compare(runs: dict[str, Path], tmp_path: Path, *names: str, flags: tuple = ()):
    dirs = [str(runs[n]) for n in names]
    return run_cli("compare", *dirs, "--dest", str(tmp_path / "cmp"), *flags, cwd=tmp_path)


def rows_of(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "seed" in line or "shallow" in line]


def test_a_slower_configuration_is_starred_and_fails_the_gate(runs, tmp_path) -> None:
    done = compare(runs, tmp_path, "base", "slow", flags=("--fail-above", "1.2"))
    assert done.returncode == 1, done.stdout + done.stderr
    starred = [line for line in rows_of(done.stdout) if "* slower" in line]
    assert starred and all("seed_cnn" in line and "seed001" not in line for line in starred)
    steady = [line for line in starred if line.startswith("steady epoch")]
    assert len(steady) == 1 and "1.50×" in steady[0]
    assert "slower than 1.2×: steady epoch of seed_cnn" in done.stderr
    assert "Traceback" not in done.stderr
    # without the gate the same comparison reports and exits 0
    assert compare(runs, tmp_path, "base", "slow").returncode == 0


def test_the_same_sweep_passes_the_gate(runs, tmp_path) -> None:
    done = compare(runs, tmp_path, "base", "same", flags=("--fail-above", "1.2"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "* " not in "\n".join(rows_of(done.stdout)) and done.stderr == ""
    assert len(rows_of(done.stdout)) == 4 * len(MODELS)  # every configuration, four metrics


@pytest.mark.parametrize("gate", [(), ("--fail-above", "1.10")], ids=["report", "gate"])
def test_runs_that_differ_in_epochs_are_not_compared(runs, tmp_path, gate) -> None:
    done = compare(runs, tmp_path, "base", "epochs", flags=gate)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "nothing compared for" in done.stderr and "epochs 6 vs 5" in done.stderr
    assert "[train] epochs" in done.stderr and "Traceback" not in done.stderr
    assert "no configuration aligned with the baseline" in done.stdout


def test_a_run_without_verdicts_fails_the_gate_unless_allowed(runs, tmp_path) -> None:
    done = compare(runs, tmp_path, "base", "three", flags=("--fail-above", "1.2"))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no verdict for" in done.stderr and "--allow-no-verdict" in done.stderr
    assert "no verdict: 4/3 repeats" in done.stdout
    allowed = ("--fail-above", "1.2", "--allow-no-verdict")
    assert compare(runs, tmp_path, "base", "three", flags=allowed).returncode == 0
    assert compare(runs, tmp_path, "base", "three").returncode == 0  # no gate: a report


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1", "0.9", "fast"])
def test_fail_above_takes_only_a_finite_ratio_above_one(runs, tmp_path, value) -> None:
    done = compare(runs, tmp_path, "base", "slow", flags=(f"--fail-above={value}",))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"'{value}' is not a ratio above 1" in done.stderr and "Traceback" not in done.stderr


def test_compare_json_and_csv(runs, tmp_path) -> None:
    done = compare(runs, tmp_path, "base", "slow", flags=("--json", "--fail-above", "1.2"))
    assert done.returncode == 1
    document = json.loads(done.stdout)  # the table went to stderr
    assert document["exit_code"] == 1 and document["not_compared"] == {}
    rows = document["rows"]
    assert len(rows) == 4 * len(MODELS)  # steady, both overheads (epochs, steps), cold start
    fields = ["metric", "configuration", "run", "baseline_median_s", "run_median_s", "ratio"]
    fields += ["ratio_ci_low", "ratio_ci_high", "p", "p_bh", "repeats_baseline", "repeats_run"]
    fields += ["verdict", "significant"]
    assert all(list(row) == fields for row in rows)
    slow = [r for r in rows if r["significant"]]
    assert {r["verdict"] for r in slow} == {"slower"} and all(r["ratio"] > 1.2 for r in slow)
    assert all(r["repeats_baseline"] == 4 and r["repeats_run"] == 4 for r in rows)
    steady = next(r for r in slow if r["metric"] == "steady epoch")
    assert steady["ratio"] == pytest.approx(1.5) and steady["baseline_median_s"] == 2.0
    with open(tmp_path / "cmp" / "compare.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == fields and len(table) == len(rows)
    assert [r["verdict"] for r in table] == [r["verdict"] for r in rows]


def test_compare_json_names_what_was_not_compared(runs, tmp_path) -> None:
    done = compare(runs, tmp_path, "base", "epochs", flags=("--json",))
    document = json.loads(done.stdout)
    assert done.returncode == document["exit_code"] == 3 and document["rows"] == []
    (name, why), *others = document["not_compared"].items()
    assert not others and name.endswith("-epochs") and "epochs 6 vs 5" in why
