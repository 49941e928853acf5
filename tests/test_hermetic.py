"""The suite is hermetic: what a user has on their machine cannot change a test's outcome, and no
test writes into the user's folders.

A small subset of the suite — the tests that once read a user's calibration, `bench.toml`,
GPU list or Keras backend — runs twice in child pytest processes: once as a user who has run
`bench run` and `bench calibrate` (a real per-host calibration in their data folder, a results
folder and an edited `bench.toml` in the folder pytest starts from, a Keras config and an
inductor cache in their HOME) with `CUDA_VISIBLE_DEVICES=""`, `OMP_NUM_THREADS=1`,
`KERAS_BACKEND=jax` and friends exported, and once on a clean machine. Both runs must pass the
same tests, and the user's HOME and working folder must be byte-for-byte what they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO

# Each of these read something of the user's before the suite was isolated.
SUBSET = (
    "tests/test_analysis_report.py::test_mfu_figure_needs_a_peak",
    "tests/test_analysis_report.py::test_report_files_self_contained_and_complete",
    "tests/test_calibrate.py::test_calibration_is_found_by_a_run_with_another_out",
    "tests/test_config.py",
    "tests/test_devices.py",
    "tests/test_gpu_truth.py",
)

USER_ENV = {
    "CUDA_VISIBLE_DEVICES": "",
    "HIP_VISIBLE_DEVICES": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "KERAS_BACKEND": "jax",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    "JAX_PLATFORMS": "cpu",
    "BENCH_OUT": "elsewhere",
}

USER_TOML = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cpu"]
repeats = 7

[train]
epochs = 3
samples = 64

[output]
dir = "results"
"""


def _plain_env(home: Path) -> dict[str, str]:
    """A minimal environment of a user whose HOME is `home` (nothing of this test process's)."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "HOME": str(home), "PYTHONPATH": str(REPO)}


def _bench(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _user_machine(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """A user's HOME and working folder after `bench run` and `bench calibrate`, and their
    environment with the variables exported that a user of GPUs and frameworks sets."""
    home, cwd = root / "home", root / "work"
    home.mkdir(parents=True)
    cwd.mkdir()
    (cwd / "bench.toml").write_text(USER_TOML)
    env = _plain_env(home)
    _bench(["run", "--no-report", "-q"], cwd, env)
    _bench(
        ["calibrate", "--frameworks", "torch", "--sizes", "64", "--batches", "2"]
        + ["--warmup", "1", "--warmup-s", "0", "--min-batch-s", "0.001", "--threads", "1"],
        cwd,
        env,
    )
    assert list((home / ".local/share/bench/calibration").glob("latest.json"))
    keras = home / ".keras"
    keras.mkdir(exist_ok=True)
    (keras / "keras.json").write_text('{"backend": "jax", "floatx": "float16"}\n')
    inductor = home / ".cache" / "inductor"
    inductor.mkdir(parents=True)
    (inductor / "warm").write_text("a warm cache\n")
    return home, cwd, {**env, **USER_ENV, "TORCHINDUCTOR_CACHE_DIR": str(inductor)}


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folders`: (size, mtime in ns) by path."""
    seen = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            stat = path.stat()
            seen[str(path)] = (stat.st_size if path.is_file() else 0, stat.st_mtime_ns)
    return seen


def _outcomes(cwd: Path, env: dict[str, str], junit: Path) -> dict[str, str]:
    """Run SUBSET with pytest from `cwd` in `env`: outcome by test id."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *(str(REPO / t) for t in SUBSET)]
        + ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", f"--junitxml={junit}"]
        + ["--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert junit.exists(), done.stdout + done.stderr
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode,
    reason="the user's calibration is made with torch",
)
def test_a_users_machine_changes_no_outcome_and_is_left_untouched(tmp_path: Path) -> None:
    home, cwd, env = _user_machine(tmp_path / "user")
    before = _snapshot(home, cwd)
    dirty = _outcomes(cwd, env, tmp_path / "dirty.xml")
    after = _snapshot(home, cwd)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, changed  # nothing written into the user's folders

    clean_home, clean_cwd = tmp_path / "clean-home", tmp_path / "clean-work"
    clean_home.mkdir()
    clean_cwd.mkdir()
    clean = _outcomes(clean_cwd, _plain_env(clean_home), tmp_path / "clean.xml")

    assert len(clean) > 20 and "failure" not in clean.values() and "error" not in clean.values()
    assert dirty == clean
