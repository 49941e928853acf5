"""`python -m bench` as a user runs it: in a fresh process, from a folder of their own.

Every run happens in a temporary working directory (so the repository's bench.toml is not picked
up unless a test asks for it) with PYTHONPATH pointing at the repository. User errors must exit
with code 2 and one `bench: error:` paragraph on stderr — never a traceback — and the parent
process must not import a framework for any command that plans but does not train.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK_MODULES = ("torch", "tensorflow", "keras", "jax", "jaxlib", "tf_keras")

SWEEP = """
[sweep]
frameworks = ["torch", "keras"]
models = ["seed_cnn", "seed_ffnn"]
devices = ["cpu"]
batch_sizes = [32, 64]
threads = [1, 2]
repeats = 2

[train]
epochs = 3
samples = 256
"""


def bench(*args: str, cwd: Path, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_usage_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, one `bench: error:` paragraph naming `fragments`, and no traceback."""
    err = done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, err)
    assert "Traceback" not in err, err
    assert err.count("bench: error:") == 1, err
    paragraph = err.strip()
    assert paragraph.startswith("bench: error:"), err
    assert "\n\n" not in paragraph, err
    for fragment in fragments:
        assert fragment in paragraph, (fragment, err)
    return paragraph


@pytest.fixture
def sweep_toml(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


# --- help and listings ---------------------------------------------------------------------------


def test_help_exits_0(tmp_path: Path) -> None:
    done = bench("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("run", "devices", "models"):
        assert command in done.stdout


def test_run_help_lists_override_flags(tmp_path: Path) -> None:
    done = bench("run", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for flag in ("--config", "--batch-sizes", "--epochs", "--frameworks", "--devices", "--out"):
        assert flag in done.stdout


def test_devices_lists_cpu(tmp_path: Path) -> None:
    done = bench("devices", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()]
    assert names[0] == "cpu"


def test_models_lists_seeds_with_param_counts(tmp_path: Path) -> None:
    done = bench("models", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "1,475,146" in rows["seed_cnn"].split()
    assert "44,458" in rows["seed_ffnn"].split()


def test_models_name_shows_layer_table(tmp_path: Path) -> None:
    done = bench("models", "seed_ffnn", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "44,458" in done.stdout


def test_models_unknown_name_exits_2(tmp_path: Path) -> None:
    done = bench("models", "nosuch", cwd=tmp_path)
    assert_usage_error(done, "nosuch", "seed_cnn")


# --- run --dry-run -------------------------------------------------------------------------------


def plan_of(stdout: str) -> str:
    """The plan a dry run prints after its `config:` and `output:` lines."""
    config, output, plan = stdout.split("\n", 2)
    assert config.startswith("config: ") and output.startswith("output: "), stdout
    return plan


def test_dry_run_prints_every_planned_trial(tmp_path: Path, sweep_toml: Path) -> None:
    done = bench("run", "--dry-run", "--config", str(sweep_toml), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = 2 * 2 * 2 * 2 * 2  # repeats × models × frameworks × batch sizes × threads
    lines = plan_of(done.stdout).strip().splitlines()
    assert lines[0].startswith(f"{expected} trials planned")
    trial_lines = [line for line in lines[1:] if re.match(r"\s+\d{3}-", line)]
    assert len(trial_lines) == expected
    ids = [line.split(":")[0].strip() for line in trial_lines]
    assert len(set(ids)) == expected
    assert not list(tmp_path.glob("results*")), "a dry run writes nothing"


def test_dry_run_with_flags_overrides_config(tmp_path: Path, sweep_toml: Path) -> None:
    done = bench(
        "run", "--dry-run", "--config", str(sweep_toml),
        "--frameworks", "fake", "--batch-sizes", "16", "--repeats", "1", "--threads", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert plan_of(done.stdout).startswith("2 trials planned")  # two models
    assert "fake/scripted" in done.stdout and ", b16," in done.stdout


def test_dry_run_uses_bench_toml_in_cwd(tmp_path: Path, sweep_toml: Path) -> None:
    (tmp_path / "bench.toml").write_text(SWEEP.replace("repeats = 2", "repeats = 3"))
    done = bench("run", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert plan_of(done.stdout).startswith(f"{3 * 16} trials planned")


# --- bad config and bad flags: exit 2, one paragraph, no traceback ------------------------------


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("[sweep]\nbatch_size = [32]\n", ["batch_size", "batch_sizes"]),
        ("[train]\nepochs = 1\n", ["epochs", "1"]),
        ('[sweep]\nmodels = ["nosuch"]\n', ["models", "nosuch", "seed_cnn"]),
        ("[sweep\n", ["not valid TOML"]),
    ],
    ids=["unknown key", "epochs 1", "unknown model", "bad toml"],
)
def test_bad_config_exits_2(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    done = bench("run", "--dry-run", "--config", str(path), cwd=tmp_path)
    assert_usage_error(done, str(path), *fragments)


def test_bad_bench_toml_in_cwd_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bench.toml").write_text("[train]\nepochs = 1\n")
    done = bench("run", "--dry-run", cwd=tmp_path)
    assert_usage_error(done, "bench.toml", "epochs")


def test_missing_config_exits_2(tmp_path: Path) -> None:
    done = bench("run", "--dry-run", "--config", "nope.toml", cwd=tmp_path)
    assert_usage_error(done, "nope.toml", "not found")


@pytest.mark.parametrize(
    "flag, value, fragments",
    [
        ("--batch-sizes", "0", ["batch_sizes", "0"]),
        ("--batch-sizes", "32,-1", ["batch_sizes", "-1"]),
        ("--epochs", "x", ["epochs", "'x'"]),
        ("--epochs", "1", ["epochs"]),
        ("--repeats", "1.5", ["repeats", "1.5"]),
        ("--threads", "0", ["threads", "0"]),
        ("--frameworks", "tensorflw", ["frameworks", "tensorflw", "torch, keras, numpy, fake"]),
        ("--models", "seed_cn", ["seed_cn", "seed_cnn"]),
        ("--devices", "gpu", ["devices", "gpu"]),
        ("--samples", "10", ["samples", "10"]),
    ],
)
def test_bad_flag_exits_2_naming_flag_and_value(
    tmp_path: Path, flag: str, value: str, fragments: list[str]
) -> None:
    done = bench("run", "--dry-run", flag, value, cwd=tmp_path)
    assert_usage_error(done, flag, *fragments)


def _has_cuda_7() -> bool:
    from bench.hardware import devices

    return any(d.name == "cuda:7" for d in devices.discover())


def test_unavailable_device_exits_2(tmp_path: Path) -> None:
    if _has_cuda_7():
        pytest.skip("this machine has a cuda:7")
    done = bench("run", "--dry-run", "--devices", "cuda:7", cwd=tmp_path)
    assert_usage_error(done, "cuda:7", "devices", "cpu")


def test_unavailable_device_error_names_the_flag(tmp_path: Path) -> None:
    if _has_cuda_7():
        pytest.skip("this machine has a cuda:7")
    done = bench("run", "--dry-run", "--devices", "cuda:7", cwd=tmp_path)
    assert_usage_error(done, "--devices", "cuda:7")


def test_bad_flag_names_flag_with_config_file(tmp_path: Path, sweep_toml: Path) -> None:
    done = bench(
        "run", "--dry-run", "--config", str(sweep_toml), "--batch-sizes", "0", cwd=tmp_path
    )
    assert_usage_error(done, str(sweep_toml), "--batch-sizes")


# --- the parent imports no framework ------------------------------------------------------------


def imported_modules(importtime_stderr: str) -> set[str]:
    """Top-level names of every module listed by `python -X importtime`."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return names


@pytest.mark.parametrize(
    "args",
    [("--help",), ("devices",), ("models",), ("models", "seed_cnn"), ("run", "--dry-run")],
    ids=["help", "devices", "models", "models-name", "dry-run"],
)
def test_parent_imports_no_framework(tmp_path: Path, sweep_toml: Path, args: tuple[str, ...]):
    if args[0] == "run":
        args = (*args, "--config", str(sweep_toml))
    done = bench(*args, cwd=tmp_path, python_flags=("-X", "importtime"))
    assert done.returncode == 0, done.stderr[-2000:]
    modules = imported_modules(done.stderr)
    assert "bench" in modules, "importtime output was parsed"
    assert not modules & set(FRAMEWORK_MODULES), sorted(modules & set(FRAMEWORK_MODULES))
