"""PyTorch runner: a plain training loop, written the way a careful user writes it.

The data sits on the device before training; each step is `zero_grad(set_to_none=True)`,
forward, loss, backward, `step()`, with no host synchronization inside an epoch. The epoch's mean
loss is accumulated on the device and fetched once, after the clock has stopped. On CUDA the
clock reads the time only after `torch.cuda.synchronize()` (see `pick_sync`).

Mode `compile` wraps the model in `torch.compile` in the compile phase; the compilation itself
happens lazily in the first step (forward) and first backward, so both land in `first_step`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench.runners.base import model_spec, no_sync, synthetic_data

if TYPE_CHECKING:
    from bench.clock import Clock
    from bench.plan import Trial


def pick_sync(device_kind: str, torch: Any) -> Callable[[], None]:
    """The synchronize function for a device type: CUDA waits for its queue; CPU needs nothing."""
    if device_kind == "cuda":
        return torch.cuda.synchronize
    return no_sync


class CudaPeak:
    """Per-epoch peak of one of PyTorch's CUDA caching-allocator counters."""

    def __init__(self, torch: Any, device: Any, counter: str) -> None:
        self._torch, self._device, self._counter = torch, device, counter
        self.source = f"torch_{counter}"

    def reset(self) -> None:
        self._torch.cuda.reset_peak_memory_stats(self._device)

    def peak(self) -> int:
        return int(getattr(self._torch.cuda, self._counter)(self._device))


def cuda_peaks(torch: Any, device: Any) -> list[CudaPeak]:
    """Allocated (tensors alive) first, then reserved (what the caching allocator holds)."""
    return [CudaPeak(torch, device, c) for c in ("max_memory_allocated", "max_memory_reserved")]


def dynamo_stats(torch: Any) -> dict[str, float | int | None]:
    """torch.compile's own account: compile seconds, graphs, graph breaks, compiled frames."""
    from torch._dynamo.utils import compilation_time_metrics, counters

    timed = ("_compile.compile_inner", "backward._backward_impl")
    return {
        "compile_time_s": sum(sum(compilation_time_metrics.get(k, [])) for k in timed),
        "graph_count": counters["stats"]["unique_graphs"],
        "graph_breaks": sum(counters["graph_break"].values()),
        "compiled_frames": counters["frames"]["ok"],
    }


class TorchRunner:
    time_fn = None

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.sync: Callable[[], None] = no_sync

    def import_framework(self) -> str:
        import torch

        self.torch = torch
        return torch.__version__

    def init_device(self) -> None:
        torch, trial = self.torch, self.trial
        torch.set_num_threads(trial.threads)
        torch.set_num_interop_threads(trial.threads)
        torch.manual_seed(trial.seed)
        # The parent exposes exactly one GPU to a CUDA trial (CUDA_VISIBLE_DEVICES), so it is 0.
        self.device = torch.device("cuda:0" if trial.device_kind == "cuda" else "cpu")
        self.sync = pick_sync(trial.device_kind, torch)
        if trial.device_kind == "cuda":
            torch.cuda.set_device(self.device)
            torch.zeros(1, device=self.device)  # creates the CUDA context now, not in step 1

    def make_data(self) -> None:
        x, y = synthetic_data(self.trial)
        torch = self.torch
        self.x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(self.device)
        self.y = torch.from_numpy(y).to(self.device)

    def build(self) -> tuple[int, int]:
        from models import torch_build

        self.model = torch_build.build(model_spec(self.trial)).to(self.device)
        return torch_build.count_params(self.model)

    def compile(self) -> None:
        torch, trial = self.torch, self.trial
        params = [p for p in self.model.parameters() if p.requires_grad]
        if trial.optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=trial.learning_rate, eps=1e-7)
        else:
            self.optimizer = torch.optim.SGD(params, lr=trial.learning_rate)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.step_model = torch.compile(self.model) if trial.mode == "compile" else self.model

    def fit(self, clock: Clock) -> None:
        torch, model, opt, loss_fn = self.torch, self.step_model, self.optimizer, self.loss_fn
        x, y, bs, steps = self.x, self.y, self.trial.batch_size, self.trial.steps_per_epoch
        model.train()
        clock.start_training()
        for epoch in range(self.trial.epochs):
            if epoch:
                clock.epoch_begin()
            total = torch.zeros((), device=self.device)
            for i in range(steps):
                xb, yb = x[i * bs : (i + 1) * bs], y[i * bs : (i + 1) * bs]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.detach()
                if epoch == 0 and i == 0:
                    clock.first_step_done()
            clock.epoch_end(lambda total=total: (total / steps).item())

    def device_peaks(self) -> list[CudaPeak]:
        return cuda_peaks(self.torch, self.device) if self.trial.device_kind == "cuda" else []

    def stats(self) -> dict[str, float | int | None]:
        return dynamo_stats(self.torch) if self.trial.mode == "compile" else {}

    def settings(self) -> dict[str, str]:
        torch = self.torch
        values = {
            "torch.num_threads": torch.get_num_threads(),
            "torch.num_interop_threads": torch.get_num_interop_threads(),
            "torch.float32_matmul_precision": torch.get_float32_matmul_precision(),
            "torch.backends.cudnn.benchmark": torch.backends.cudnn.benchmark,
            "torch.backends.cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "torch.backends.cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "torch.backends.mkldnn.enabled": torch.backends.mkldnn.is_available(),
            "dtype": str(next(self.model.parameters()).dtype),
            "torch.compile": self.trial.mode == "compile",
        }
        if self.trial.device_kind == "cuda":
            values["cuda.device_name"] = torch.cuda.get_device_name(self.device)
            values["cuda.runtime_version"] = torch.version.cuda
            values["cudnn.version"] = torch.backends.cudnn.version()
        return {k: str(v) for k, v in values.items()}


def make(trial: Trial) -> TorchRunner:
    return TorchRunner(trial)
