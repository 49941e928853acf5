"""scripts/verified_rows.py and scripts/gpu-check.sh, on this CPU-only machine.

verified_rows runs on a hand-written record: FIXTURE_H100 below is a realistic example of what
`bench doctor --run --json-out` writes on an H100, invented for this test — no such run happened —
and it is only ever written into temporary copies of docs/verified-on.md. gpu-check.sh runs
with --dry-run: its plan prints, nothing is created, and each `bench` command it would run
parses with bench's own parser (the `bench run` ones through `bench run --dry-run` on the CPU).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from bench.cli import doctor as doctor_cli
from bench.hardware.acceptance import SCHEMA, problems

SCRIPTS = REPO / "scripts"
spec = importlib.util.spec_from_file_location("verified_rows", SCRIPTS / "verified_rows.py")
verified_rows = importlib.util.module_from_spec(spec)
spec.loader.exec_module(verified_rows)

# A FIXTURE, invented for this test: not a record of a real run.
FIXTURE_H100 = {
    "schema": SCHEMA,
    "date": "2026-01-15T10:00:00Z",
    "machine": {"host": "fixture-node", "system": "Linux x86_64", "python": "3.12.3"},
    "gpus": [
        {
            "device": "cuda:0",
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-fixture",
            "driver": "580.65.06",
            "cuda": "13.0",
            "compute_capability": "9.0",
            "memory_bytes": 85899345920,
        },
    ],  # fmt: skip
    "versions": {"torch": "2.11.0+cu130", "jax": "0.8.1", "keras": "3.12.0"},
    "checks": [
        {"name": "torch", "framework": "", "device": "cuda:0", "status": "ok"},
        {"name": "torch run", "framework": "", "device": "cuda:0", "status": "ok"},
        {"name": "sync truth", "framework": "torch", "device": "cuda:0", "status": "pass"},
        {"name": "TF32 truth", "framework": "jax", "device": "cuda:0", "status": "warn"},
        {"name": "warm cache truth", "framework": "jax", "device": "cuda:0", "status": "fail"},
        {"name": "NVML truth", "framework": "torch", "device": "cuda:0", "status": "skipped"},
        {"name": "NVML", "framework": "", "device": "", "status": "ok"},
    ],
}


def doc_copy(tmp_path: Path) -> Path:
    doc = tmp_path / "verified-on.md"
    doc.write_text((REPO / "docs" / "verified-on.md").read_text(encoding="utf-8"))
    return doc


def run_script(tmp_path: Path, record: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"record-{len(list(tmp_path.glob('record-*')))}.json"
    path.write_text(json.dumps(record))
    cmd = [sys.executable, str(SCRIPTS / "verified_rows.py"), str(path), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def generated_rows(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    body = text.split(verified_rows.BEGIN)[1].split(verified_rows.END)[0]
    return [line for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_the_fixture_is_a_valid_record() -> None:
    assert problems(FIXTURE_H100) == []


def test_a_record_becomes_one_row_in_place(tmp_path: Path) -> None:
    doc = doc_copy(tmp_path)
    done = run_script(tmp_path, FIXTURE_H100, "--doc", str(doc))
    assert done.returncode == 0, done.stderr
    [row] = generated_rows(doc)
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[:4] == [
        "NVIDIA H100 80GB HBM3 (CC 9.0)",
        "580.65.06, CUDA 13.0",
        "jax 0.8.1, keras 3.12.0, torch 2.11.0+cu130",
        "2026-01-15",
    ]
    assert cells[4] == "torch, torch run, torch sync truth"
    assert cells[5] == "jax TF32 truth (warn), jax warm cache truth"
    before, after = (REPO / "docs" / "verified-on.md").read_text().split(verified_rows.BEGIN)
    assert doc.read_text().startswith(before)  # the rest of the page is untouched


def test_a_rerun_replaces_its_row_and_another_driver_adds_one(tmp_path: Path) -> None:
    doc = doc_copy(tmp_path)
    later = {**FIXTURE_H100, "date": "2026-02-01T09:00:00Z"}
    other = copy.deepcopy(FIXTURE_H100)
    other["gpus"][0]["driver"] = "575.51.03"
    for record in (FIXTURE_H100, later, other):
        assert run_script(tmp_path, record, "--doc", str(doc)).returncode == 0
    rows = generated_rows(doc)
    assert len(rows) == 2
    assert any("575.51.03" in r for r in rows) and any("2026-02-01" in r for r in rows)
    assert not any("2026-01-15" in r and "580.65.06" in r for r in rows)


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    cpu_only = {**FIXTURE_H100, "gpus": []}
    done = run_script(tmp_path, cpu_only, "--doc", str(doc_copy(tmp_path)))
    assert done.returncode == 2 and "checked no GPU" in done.stderr
    assert "Traceback" not in done.stderr
    broken = run_script(tmp_path, {"schema": "x"}, "--doc", str(doc_copy(tmp_path)))
    assert broken.returncode == 2 and "`bench doctor --run --json-out` record" in broken.stderr
    plain = tmp_path / "plain.md"
    plain.write_text("# no markers\n")
    done = run_script(tmp_path, FIXTURE_H100, "--doc", str(plain))
    assert done.returncode == 2 and "verified-rows:begin" in done.stderr
    assert plain.read_text() == "# no markers\n"


def test_the_page_has_its_markers_and_no_fixture_row() -> None:
    text = (REPO / "docs" / "verified-on.md").read_text(encoding="utf-8")
    assert text.count(verified_rows.BEGIN) == 1 and text.count(verified_rows.END) == 1
    assert "GPU-fixture" not in text and "fixture-node" not in text


# --- scripts/gpu-check.sh ---------------------------------------------------------------------


def dry_run(tmp_path: Path) -> list[list[str]]:
    env = dict(os.environ, PYTHON=sys.executable)
    out = tmp_path / "check"
    cmd = ["bash", str(SCRIPTS / "gpu-check.sh"), "--dry-run", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not out.exists()  # a dry run creates nothing
    return [shlex.split(line) for line in done.stdout.splitlines() if not line.startswith("#")]


def test_gpu_check_dry_run_prints_the_plan(tmp_path: Path) -> None:
    plan = dry_run(tmp_path)
    bench = [c[3:] for c in plan if c[1:3] == ["-m", "bench"]]
    assert [c[0] for c in bench] == ["doctor", "run", "run", "run"]
    doctor = bench[0]
    assert "--run" in doctor and doctor[doctor.index("--json-out") + 1].endswith("doctor.json")
    precision = bench[1]
    assert precision[precision.index("--precisions") + 1] == "fp32,tf32,bf16,fp16"
    assert precision[precision.index("--models") + 1] == "deep_cnn"
    assert precision[precision.index("--batch-sizes") + 1] == "256"
    parallel = bench[2]
    assert parallel[parallel.index("--parallel") + 1] == "data"
    assert parallel[parallel.index("--world-sizes") + 1] == "1"
    assert "--caches" in bench[3] and "--torch-modes" in bench[3]
    assert plan[-2][1].endswith("verified_rows.py")


@pytest.mark.parametrize("step", [1, 2, 3])
def test_each_bench_run_of_gpu_check_parses(tmp_path: Path, step: int) -> None:
    """Its flags exist and its values pass bench's checks: the real `bench run --dry-run`, on
    the CPU instead of the GPU (which this machine lacks)."""
    command = [c[3:] for c in dry_run(tmp_path) if c[1:3] == ["-m", "bench"]][step]
    at = command.index("--devices")
    command[at + 1] = "cpu"
    done = run_cli(*command, "--dry-run", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_doctor_command_of_gpu_check_parses(tmp_path: Path) -> None:
    doctor = [c[3:] for c in dry_run(tmp_path) if c[1:3] == ["-m", "bench"]][0]
    parser = argparse.ArgumentParser()
    doctor_cli.add_arguments(parser)
    args = parser.parse_args(doctor[1:])
    assert args.run and args.json_out.endswith("doctor.json") and args.devices == "cuda:0"


def test_gpu_check_runs_each_step_with_its_log(tmp_path: Path) -> None:
    """A real (not dry) run with a stand-in interpreter that only echoes what it is asked to
    run (and imports for real, for the script's look at what is installed): each step's log,
    the exit codes, the page copied into the folder."""
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} "$@"\necho "ran $*"\n')
    fake.chmod(0o755)
    out = tmp_path / "check"
    cmd = ["bash", str(SCRIPTS / "gpu-check.sh"), "--python", str(fake), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = (out / "steps.txt").read_text().split("\n")
    assert [s.split()[0] for s in steps if s] == [
        "doctor", "precision", "data-parallel", "warm-cache", "verified-rows", "verified-copy"
    ]  # fmt: skip
    assert all(s.endswith(" 0") for s in steps if s)
    assert (out / "doctor.log").read_text().startswith("ran -m bench doctor --run")
    assert (out / "verified-on.md").read_text() == (REPO / "docs/verified-on.md").read_text()
