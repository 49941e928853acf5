"""Shared by the analysis tests: real run folders made by `bench run` with the fake runner.

The fake runner's time is virtual, so every phase and epoch lasts exactly what `[fake]` says;
two runs whose `epoch_s` differ by a factor differ by exactly that factor. Runs are made once
per test session (cached by their parameters) in a temporary folder.
"""

from __future__ import annotations

import atexit
import csv
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.contract.schema import TABLES, columns_in_version

ROOT = Path(__file__).resolve().parents[1]
EPOCH_S = (2.0, 1.0, 1.1, 0.9, 1.05, 0.95)
CONFIG = """
[sweep]
frameworks = ["fake"]
models = [{models}]
devices = ["cpu"]
batch_sizes = [{batch_sizes}]
threads = [1]
repeats = {repeats}

[train]
epochs = {epochs}
samples = 64

[fake]
phase_s = 0.1
first_step_s = 0.5
epoch_s = [{epoch_s}]
fail = "{fail}"
fail_epoch = 3
"""

_BASE = Path(tempfile.mkdtemp(prefix="bench-analysis-tests-"))
atexit.register(shutil.rmtree, _BASE, ignore_errors=True)


def run_module(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` in a fresh process from the repository root."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_module_code(code: str) -> subprocess.CompletedProcess:
    """`python -c CODE` in a fresh process from the repository root."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


@functools.cache
def fake_run(
    name: str,
    scale: float = 1.0,
    repeats: int = 1,
    batch_sizes: tuple[int, ...] = (32,),
    models: tuple[str, ...] = ("seed_ffnn",),
    fail: str = "none",
    epoch_s: tuple[float, ...] = EPOCH_S,
) -> Path:
    """A finished fake run (its folder); epoch times are `epoch_s` (EPOCH_S) × `scale`."""
    folder = _BASE / name
    folder.mkdir()
    config = folder / "bench.toml"
    config.write_text(
        CONFIG.format(
            models=", ".join(f'"{m}"' for m in models),
            batch_sizes=", ".join(map(str, batch_sizes)),
            repeats=repeats,
            epochs=len(epoch_s),
            epoch_s=", ".join(str(round(s * scale, 6)) for s in epoch_s),
            fail=fail,
        )
    )
    out = folder / "out"
    done = run_module("bench", "run", "--config", str(config), "--out", str(out), "--name", name)
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, done.stdout + done.stderr
    return dirs[0]


def copy_run(run_dir: Path, dest: Path) -> Path:
    """A writable copy of a run folder (to corrupt it)."""
    target = dest / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def as_version(run: Path, version: int) -> Path:
    """Rewrite a run folder the way bench wrote it at schema `version`: every table without
    the columns later versions added."""
    for name, row_type in TABLES.items():
        path = run / name
        header = columns_in_version(row_type, version)
        if not header:  # a table that came later (ranks.csv, version 5)
            path.unlink(missing_ok=True)
            continue
        rows = list(csv.DictReader(path.read_text().splitlines()))
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, header, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(meta | {"schema_version": version}))
    return run
