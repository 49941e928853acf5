"""`bench doctor --run`'s GPU acceptance checks, without a GPU.

The verdicts are judged on fake measurements (a sync that returns at once, a tf32 switch that
changes nothing). The child's measuring code runs against a fake GPU with a virtual clock (a
queue that a truthful sync waits for, and one that lies) and a fake TF32 (inputs rounded to 10
mantissa bits), and for real on the CPU with torch (where TF32 does not exist, so the verdict
must say so). The orchestration runs with the child and the trials stubbed at their seams; the
CLI runs for real on this CPU-only machine: four "skipped: no GPU" lines and the JSON record.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import REPO, run_cli

from bench.cli import doctor_accept as accept_run
from bench.hardware import acceptance as acc
from bench.hardware.devices import Device
from bench.hardware.doctor import OK, Check
from bench.runners import acceptance_child as child

H100 = Device("cuda:0", "cuda", "NVIDIA H100 80GB HBM3", 0, 80 * 2**30, "", "GPU-1", (9, 0))


# --- verdicts on fake measurements ----------------------------------------------------------


def test_a_sync_that_does_not_wait_fails_and_names_the_sync() -> None:
    m = {"matmuls": 40, "n": 4096, "per_op_s": 0.11, "enqueue_s": 0.0004, "sync_s": 0.00001}
    result = acc.sync_verdict("torch", "cuda:0", m)
    assert result.status == acc.FAIL
    assert "torch.cuda.synchronize()" in result.detail and "does not wait" in result.detail
    assert result.numbers["share"] < 0.01


def test_a_sync_that_waits_for_the_queue_passes() -> None:
    m = {"matmuls": 40, "n": 4096, "per_op_s": 0.11, "enqueue_s": 0.0004, "sync_s": 0.105}
    result = acc.sync_verdict("jax", "cuda:0", m)
    assert result.status == acc.PASS and "jax.block_until_ready()" in result.detail


TF32_OK = {"fp32_error": 1.2e-6, "tf32_error": 4e-4, "fp32_tflops": 50.0, "tf32_tflops": 300.0}


def test_tf32_error_like_fp32_is_tf32_not_active() -> None:
    m = {**TF32_OK, "tf32_error": 1e-6}
    result = acc.tf32_verdict("torch", "cuda:0", m, (9, 0))
    assert result.status == acc.FAIL and "TF32 not active" in result.detail


def test_fp32_error_like_tf32_is_fp32_not_strict() -> None:
    m = {**TF32_OK, "fp32_error": 5e-4}
    result = acc.tf32_verdict("tensorflow", "cuda:0", m, (8, 0))
    assert result.status == acc.FAIL and "fp32 is not strict" in result.detail


def test_tf32_passes_on_error_and_speed_and_warns_when_only_slow() -> None:
    assert acc.tf32_verdict("torch", "cuda:0", TF32_OK, (9, 0)).status == acc.PASS
    slow = acc.tf32_verdict("torch", "cuda:0", {**TF32_OK, "tf32_tflops": 60.0}, (8, 6))
    assert slow.status == acc.WARN and "1.2x" in slow.detail
    older = acc.tf32_verdict("torch", "cuda:0", TF32_OK, (7, 0))
    assert older.status == acc.SKIPPED and "7.0" in older.detail
    unknown = acc.tf32_verdict("torch", "cuda:0", TF32_OK, None)  # ROCm: no NVML
    assert unknown.status == acc.SKIPPED and "unknown" in unknown.detail


def test_nvml_verdict_names_what_nvml_missed() -> None:
    hidden = acc.nvml_verdict("torch", "cuda:0", [None, None], [2**30, 2**30], [12.0, 3.0])
    assert hidden.status == acc.FAIL and "PID namespace" in hidden.detail
    no_energy = acc.nvml_verdict("torch", "cuda:0", [2**29], [2**30], [None, 0.0])
    assert no_energy.status == acc.FAIL and "energy counter" in no_energy.detail
    good = acc.nvml_verdict("torch", "cuda:0", [None, 2**29], [2**30], [12.0, 3.0])
    assert good.status == acc.PASS and good.numbers["energy_j"] == 15.0


def test_cache_verdict_wants_a_much_shorter_warm_first_step() -> None:
    assert acc.cache_verdict("torch", "cuda:0", 30.0, 3.0).status == acc.PASS
    cold_again = acc.cache_verdict("keras/jax", "cuda:0", 4.0, 3.8)
    assert cold_again.status == acc.FAIL and "did not spare" in cold_again.detail
    assert acc.cache_verdict("torch", "cuda:0", None, 3.0).status == acc.FAIL


# --- the child's measurements against fake GPUs -----------------------------------------------


class FakeGpu:
    """A GPU queue on a virtual clock: each matmul costs `work_s` on the device, a launch
    `launch_s` on the host; a truthful sync advances the clock to the queue's end."""

    def __init__(self, truthful: bool, tf32_works: bool = True) -> None:
        self.t, self.busy_until, self.truthful, self.tf32_works = 0.0, 0.0, truthful, tf32_works
        self.tf32 = False

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.t += 1e-5
        self.busy_until = max(self.busy_until, self.t) + 2.5e-3
        if self.tf32 and self.tf32_works:  # TF32 keeps 10 of float32's 23 mantissa bits
            a, b = ((x.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32) for x in (a, b))
        return a @ b

    def sync(self, results: list) -> None:
        if self.truthful:
            self.t = max(self.t, self.busy_until)

    def fetch(self, result: np.ndarray) -> np.ndarray:  # a host read waits, whatever sync does
        self.t = max(self.t, self.busy_until)
        return np.asarray(result)

    def ops(self) -> child.Ops:
        return child.Ops("fake", np.asarray, self.matmul, self.sync, self.fetch, self.set_tf32)

    def set_tf32(self, on: bool) -> None:
        self.tf32 = on


@pytest.mark.parametrize("truthful", [True, False])
def test_sync_truth_tells_a_waiting_sync_from_one_that_returns_at_once(truthful: bool) -> None:
    gpu = FakeGpu(truthful)
    numbers = child.sync_truth(gpu.ops(), 8, 40, now=lambda: gpu.t)
    assert numbers["fetched_s"] >= 0.099  # a lying sync leaves earlier work queued too
    assert numbers["sync_s"] == pytest.approx(0.1 if truthful else 0.0, abs=0.001)
    result = acc.sync_verdict("torch", "cuda:0", numbers)
    assert result.status == (acc.PASS if truthful else acc.FAIL)


@pytest.mark.parametrize("works", [True, False])
def test_tf32_truth_measures_the_rounding_of_the_tf32_switch(works: bool) -> None:
    gpu = FakeGpu(True, tf32_works=works)
    numbers = child.tf32_truth(gpu.ops(), 64, 16, min_batch_s=0.001)
    assert numbers["fp32_error"] < acc.FP32_MAX_ERROR
    assert (numbers["tf32_error"] > acc.TF32_MIN_ERROR) is works
    detail = acc.tf32_verdict("fake", "cuda:0", numbers, (9, 0)).detail
    assert ("TF32 not active" in detail) is not works


def test_the_child_on_this_cpu_with_real_torch_finds_no_tf32(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"framework": "torch", "kind": "cpu", "n": 64, "matmuls": 4,
                                "error_n": 64}))  # fmt: skip
    cmd = [sys.executable, "-m", "bench.runners.acceptance_child", str(spec), str(tmp_path / "o")]
    env = {"PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    subprocess.run(cmd, check=True, timeout=120, env=env)
    numbers = json.loads((tmp_path / "o").read_text())
    assert numbers["error"] == "" and numbers["version"].startswith("2.")
    assert set(numbers["sync"]) == {"matmuls", "n", "per_op_s", "fetched_s", "enqueue_s", "sync_s"}
    result = acc.tf32_verdict("torch", "cpu", numbers["tf32"], (8, 0))  # as if it were a GPU
    assert result.status == acc.FAIL and "TF32 not active" in result.detail


def test_the_tf32_switch_is_the_runners_own() -> None:
    torch = pytest.importorskip("torch")
    ops = child.torch_ops(torch, "cpu")
    ops.set_tf32(True)
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    ops.set_tf32(False)
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


# --- orchestration and the JSON record ----------------------------------------------------------


def test_accept_judges_each_gpu_and_writes_the_record(monkeypatch, tmp_path: Path) -> None:
    sync = {"matmuls": 40, "n": 4096, "per_op_s": 0.1, "enqueue_s": 0.001, "sync_s": 0.0001}
    monkeypatch.setattr(accept_run, "run_child", lambda f, d: {"version": "x", "error": "",
                        "sync": sync, "tf32": {**TF32_OK, "tf32_error": 1e-6}})  # fmt: skip
    sample = SimpleNamespace(gpu_process_memory_bytes=2**29, gpu_memory_used_bytes=2**30)
    rows = {"samples.csv": [sample], "epochs.csv": [SimpleNamespace(energy_gpu_j=9.0)],
            "trials.csv": [SimpleNamespace(first_step_s=20.0)]}  # fmt: skip
    monkeypatch.setattr(accept_run, "run_rows", lambda *a: rows)
    found = [(("torch", "torch"), H100, Check("torch", "cuda:0", OK, "2.11.0+cu130"))]
    lines: list[Check] = []
    args = SimpleNamespace(json_out=str(tmp_path / "r.json"))
    checks = accept_run.accept(args, found, [found[0][2]], lines.append)
    assert [c.status for c in checks] == ["FAIL", "FAIL", "ok", "FAIL"]  # the cache stayed cold
    assert "does not wait" in checks[0].detail and "TF32 not active" in checks[1].detail
    assert lines == checks
    data = json.loads((tmp_path / "r.json").read_text())
    assert acc.problems(data) == []
    assert data["gpus"][0]["compute_capability"] == "9.0"
    names = [(c["name"], c["status"]) for c in data["checks"]]
    assert names[0] == ("torch", "ok") and ("sync truth", "fail") in names


def test_record_schema_problems_are_named() -> None:
    good = acc.record([], {"torch": "2.13"}, [{"name": "NVML", "device": "", "status": "info"}])
    assert acc.problems(good) == []
    assert acc.problems({"schema": "other"}) == [f"not a {acc.SCHEMA} record (its 'schema' key)"]
    bad = {**good, "checks": [{"name": "x", "device": "", "status": "great"}], "gpus": {}}
    assert acc.problems(bad) == ["'gpus' is missing or not a list",
                                 "check 1 has an unknown status 'great'"]  # fmt: skip


def test_doctor_run_without_a_gpu_prints_four_skipped_lines(tmp_path: Path) -> None:
    record = str(tmp_path / "d.json")
    done = run_cli("doctor", "--frameworks", "torch", "--run", "--json-out", record)
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line for line in done.stdout.splitlines() if "skipped: no GPU (" in line]
    assert [line.split("  ")[1].strip() for line in skipped] == list(acc.CHECKS)
    data = json.loads((tmp_path / "d.json").read_text())
    assert acc.problems(data) == [] and data["gpus"] == []
    assert {c["status"] for c in data["checks"] if c["name"] in acc.CHECKS} == {"skipped"}


def test_json_without_run_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("doctor", "--json-out", str(tmp_path / "d.json"))
    assert done.returncode == 2 and "add --run" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d.json").exists()


def test_a_record_that_cannot_be_written_is_a_failed_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    lines: list[Check] = []
    args = SimpleNamespace(json_out=str(blocker / "d.json"))
    checks = accept_run.accept(args, [], [], lines.append)
    assert checks[-1].status == "FAIL" and "cannot write" in checks[-1].detail
    assert lines == checks and len(checks) == 5


# --- the trials behind the NVML and warm-cache truths, for real on the CPU ----------------------

CPU = Device("cpu", "cpu", "this CPU", None, 2**34, "")


def test_the_nvml_truth_of_a_real_cpu_trial_finds_no_nvml_readings() -> None:
    """The trial runs and its rows are read; on a CPU no NVML reading exists, so the verdict
    must fail and say what NVML missed (on a GPU the same rows carry NVML's readings)."""
    result = accept_run.nvml_truth(("torch", "torch"), CPU, samples=128)
    assert result.status == acc.FAIL, result.detail
    assert "no memory for the trial's process" in result.detail and "energy" in result.detail
    assert result.numbers == {"process_memory_bytes": 0, "device_memory_bytes": 0, "energy_j": 0}


@pytest.mark.slow
def test_the_warm_cache_pair_records_both_first_steps_on_the_cpu() -> None:
    """Two torch.compile trials on one cache folder, on the CPU: both first steps measured."""
    result = accept_run.cache_truth(("torch", "torch"), CPU)
    assert result.numbers["cold_first_step_s"] > 0 and result.numbers["warm_first_step_s"] > 0
    assert result.status in (acc.PASS, acc.FAIL) and "first step" in result.detail
