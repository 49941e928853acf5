"""A native torch model's FLOPs (issue 30, defect 6): counted on DDP's own module while the
process group still exists — a real 2-rank gloo trial on the CPU records the same figure as the
single trial — and, where they cannot be counted, the trial says why instead of hiding it."""

from __future__ import annotations

import dataclasses
import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import REPO, only_run_dir, read_csv, run_cli

from bench.contract.trial import Trial
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import cpu_device

TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not TORCH, reason="torch not installed")
EXAMPLE = REPO / "examples" / "bench.toml"
CONV, DENSE = 2 * 28 * 28 * 16 * 9, 2 * 16 * 14 * 14 * 10  # examples/native_models.py:torch_cnn
TRAIN_FLOPS = 2 * CONV + 3 * DENSE  # FlopCounterMode: no input gradient for the first layer


@needs_torch
def test_native_model_under_ddp_records_its_flops(tmp_path: Any) -> None:
    proc = run_cli(
        "run", "--config", str(EXAMPLE), "--frameworks", "torch", "--models", "native_cnn",
        "--batch-sizes", "16", "--epochs", "2", "--samples", "32", "--threads", "2",
        "--set", "sweep.parallel=data", "--set", "sweep.world_sizes=2",
        "--set", "sweep.warmup=0", "--set", "monitor.enabled=false", "--no-report",
        "--out", str(tmp_path), cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = only_run_dir(tmp_path)
    (row,) = read_csv(run / "trials.csv")
    assert (row["parallel"], row["status"]) == ("data", "ok"), row["error"]
    assert int(row["flops_per_sample"]) == TRAIN_FLOPS, "what the single trial counts"
    settings = {(s["trial_id"], s["key"]) for s in read_csv(run / "settings.csv")}
    assert not any(key == "model.flops_error" for _, key in settings)


def native_trial() -> Trial:
    cfg = load(None, {"sweep": {"frameworks": ["torch"], "models": ["seed_ffnn"]}}, ["test"])
    trial = plan(cfg, [cpu_device()], 1)[0]
    return dataclasses.replace(trial, definition="native", native="mine.py:make")


class Notes:
    """The clock's `note`, kept."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def note(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@needs_torch
def test_a_model_flops_cannot_count_leaves_the_reason_in_settings(capsys: Any) -> None:
    import torch

    from bench.runners.torch import TorchRunner

    class Refuses(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            raise ValueError(f"batch of {x.shape[0]} not supported")

    runner = TorchRunner(native_trial())
    runner.torch, runner.model, runner.device = torch, Refuses(), torch.device("cpu")
    notes = Notes()
    runner.count_flops(notes)  # type: ignore[arg-type]
    assert runner.stats() == {"flops_per_sample": None}
    why = "ValueError: batch of 2 not supported"
    assert notes.events == [{"event": "settings", "values": {"model.flops_error": why}}]
    assert why in capsys.readouterr().err, "the trial's log has the traceback"


class Clock(Notes):
    """Enough of the harness's clock for `fit` around a stubbed epoch."""

    def start_training(self) -> None: ...
    def epoch_begin(self) -> None: ...
    def epoch_end(self, loss: Any) -> None: ...


def test_ddp_counts_on_its_module_before_the_process_group_goes(monkeypatch: Any) -> None:
    from bench.runners import torch_ddp
    from bench.runners.torch import TorchRunner

    calls: list[str] = []
    inner = SimpleNamespace(name="the user's module")

    def train_flops(torch: Any, model: Any, shape: Any, device: Any) -> int:
        calls.append(f"count on {model.name}")
        return 7

    monkeypatch.setattr("models.native.train_flops", train_flops)
    monkeypatch.setattr(TorchRunner, "_train_epoch", lambda self, clock, first: (0, None))
    trial = dataclasses.replace(native_trial(), parallel="data", world_size=2)
    runner = torch_ddp.TorchDDPRunner(trial)
    runner.torch, runner.device = None, "cpu"
    runner.dist = SimpleNamespace(destroy_process_group=lambda: calls.append("destroy"))
    # What wrap() leaves: DistributedDataParallel around the user's module.
    runner.model = SimpleNamespace(module=inner)
    runner.step_model = SimpleNamespace(train=lambda: None)
    runner.fit(Clock())  # type: ignore[arg-type]
    assert calls == ["count on the user's module", "destroy"]
    assert runner.stats() == {"flops_per_sample": 7}
