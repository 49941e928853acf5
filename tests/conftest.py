"""Shared test helpers, and the isolation that makes every test hermetic.

Hermetic: whatever the user has on their machine — a calibration in their data folder, a
`bench.toml` or a `results/` in the folder they run pytest from, `CUDA_VISIBLE_DEVICES`,
`OMP_NUM_THREADS`, `KERAS_BACKEND`, a warm inductor or XLA cache — cannot change a test's
outcome, and no test writes into the user's real folders:

- at start-up (`pytest_configure`, before any test module is imported) the process gets a
  temporary `HOME` and `XDG_*` folders and loses every variable the harness or a framework reads
  (`ISOLATED_PREFIXES`);
- every test then runs (`isolated` fixture) with a fresh `HOME` / `XDG_*` of its own and a fresh,
  empty working folder; a test that needs the repository passes `cwd=REPO` or uses `repo`;
- module- and session-scoped fixtures run in a session-wide empty working folder.

`tests/test_hermetic.py` proves it: a subset run against a pre-filled fake `HOME` and user
environment has the same outcomes as a clean one, and leaves that `HOME` untouched.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Variables the harness, its children or a framework read: the user's values never reach a test.
ISOLATED_PREFIXES = (
    "BENCH_",
    "CUDA_",
    "CUDNN_",
    "NVIDIA_",
    "NCCL_",
    "HIP_",
    "HSA_",
    "ROCR_",
    "OMP_",
    "MKL_",
    "KMP_",
    "OPENBLAS_",
    "DNNL_",
    "ONEDNN_",
    "KERAS_",
    "TF_",
    "XLA_",
    "JAX_",
    "TORCH",
    "PYTORCH_",
    "TRITON_",
    "SLURM_",
    "SUBMITIT_",
    "MPLCONFIGDIR",
    "XDG_",
)
# Where the harness, its frameworks and its plotting would write under a HOME: checked after the
# session for anything written into the user's real HOME.
WATCHED_IN_HOME = (
    ".keras",
    ".local/share/bench",
    ".cache/bench",
    ".config/bench",
    ".cache/matplotlib",
    ".config/matplotlib",
    ".cache/torch",
    ".cache/jax",
    ".triton",
    ".nv",
)
HOME_VARIABLES = ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")


_REAL_HOME = pytest.StashKey[tuple[Path, float]]()


def _homes(root: Path) -> dict[str, str]:
    """Fresh folders under `root` for HOME and the XDG base folders, by variable name."""
    homes = {name: root / name.lower() for name in HOME_VARIABLES}
    for folder in homes.values():
        folder.mkdir(parents=True)
    return {name: str(folder) for name, folder in homes.items()}


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module is imported: a private HOME and no user steering variables."""
    config.stash[_REAL_HOME] = (Path(os.path.expanduser("~")), time.time())
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            del os.environ[name]
    root = Path(tempfile.mkdtemp(prefix="bench-tests-home-"))
    config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))
    os.environ.update(_homes(root))
    with contextlib.suppress(ImportError):  # its example database, not in the starting folder
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(root / "hypothesis")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the session if anything was written under the user's real HOME while it ran."""
    home, started = session.config.stash[_REAL_HOME]
    written = [
        str(path)
        for top in WATCHED_IN_HOME
        if (home / top).exists()
        for path in [home / top, *(home / top).rglob("*")]
        if path.lstat().st_mtime >= started
    ]
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests wrote into the real HOME: " + ", ".join(written[:10])
        if reporter:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def session_workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Module- and session-scoped fixtures run in an empty folder, not the repository."""
    path = tmp_path_factory.mktemp("session-cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path)
        yield path


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test: its own empty HOME and XDG folders, and an empty working folder (returned)."""
    root = tmp_path_factory.mktemp("user")
    for name, folder in _homes(root).items():
        monkeypatch.setenv(name, folder)
    cwd = root / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` in a fresh process, in `cwd` (default: the test's own empty working
    folder), with `env` added to the environment; returns the completed process (text mode)."""
    env = dict(os.environ, **(env or {}), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd or Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def only_run_dir(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.fixture
def repo() -> Path:
    return REPO
