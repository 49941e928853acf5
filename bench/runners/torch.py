"""PyTorch runner: a plain training loop, written the way a careful user writes it.

Each step is `zero_grad(set_to_none=True)`, forward, loss, backward, gradient clipping where the
recipe asks, `step()`, the scheduler's step (`bench.runners.optim_torch`), with no host
synchronization inside an epoch; each step's end is marked for steps.csv (`clock.step_done`: a
CUDA event on a GPU, a host time read on the CPU). The epoch's mean loss is accumulated on the
device and fetched once, after the clock has stopped. On a GPU the clock reads the time only
after `torch.cuda.synchronize()` (`torch.mps.synchronize()` on MPS; see
`torch_device.pick_sync`).

Device (`bench.runners.torch_device`): `cpu`, `cuda` (NVIDIA, or AMD through a ROCm build) or
`mps`. `device_init` proves that this torch can use it and that a first tensor lands there; the
build phase checks that the model's parameters did too. Otherwise the trial fails with a
`PlacementError` saying why (a CPU-only wheel, no visible GPU, a driver problem, no MPS).

Pipelines: `memory` keeps the training tensors in host memory (pinned on CUDA) and copies each
step's slice to the device with `.to(device, non_blocking=True)` — the same work as Keras's
`fit(x=NumPy arrays)`, whose data adapter slices host arrays and copies each batch to the device
on every backend (on the CPU the copy is a no-op in both); `loader` is a
`DataLoader(TensorDataset)` (batch size, no shuffle, `drop_last`, `workers` worker processes
kept alive across epochs, pinned memory on CUDA) whose batches are moved the same way; with
`augment` its `collate_fn` flips and rotates each batch (`FlipRotate`). Both give every epoch
the same steps and samples.

When the trial evaluates (real data, `[data] evaluate`), the loop also counts correct
predictions on the device (an argmax and a sum per step, no sync: the counterpart of Keras's
per-step accuracy metric), and after each epoch's clock has stopped the model is evaluated on
the validation tensors (in host memory, each batch copied to the device, as Keras's `evaluate`
on NumPy arrays does) and reported as a `validation` event, timed on its own. Evaluation uses
the uncompiled model, so that in mode `compile` it neither recompiles nor adds to
torch.compile's statistics.

Precision (`bench.runners.torch_precision`): `device_init` sets TF32 (on only for `tf32`) and,
unless autotune is `default`, `cudnn.benchmark`; for `bf16`/`fp16` each step's forward pass and
loss run under `torch.autocast` (validation too), and `fp16` steps go through a `GradScaler`.
The first step's logits dtype is recorded in settings.csv (`torch.logits_dtype`).

Mode `compile` wraps the model in `torch.compile` in the compile phase; the compilation itself
happens lazily in the first step (forward) and first backward, so both land in `first_step`.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bench.hardware.placement import placement_error, require, torch_tensor_kind
from bench.runners.base import (
    dataset_identity,
    evaluates,
    load_data,
    model_settings,
    model_spec,
    no_sync,
)
from bench.runners.optim_torch import TorchRecipe
from bench.runners.torch_device import (
    device_peaks,
    device_settings,
    pick_sync,
    step_timer,
    torch_device,
)
from bench.runners.torch_precision import Amp, apply_flags, precision_settings

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial


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


#: Rotation range of augmentation, a fraction of a full turn (Keras `RandomRotation(0.1)`: ±36°).
ROTATION = 0.1


class FlipRotate:
    """A DataLoader `collate_fn`: stack a batch of NCHW images, flip each left-right with
    probability 1/2, and rotate each by a uniform angle within ±`factor` of a full turn
    (bilinear, edges reflected) — what Keras's `RandomFlip("horizontal")` and
    `RandomRotation(factor)` do. A plain class, so that worker processes can receive it."""

    def __init__(self, factor: float = ROTATION) -> None:
        self.factor = factor

    def __call__(self, batch: list[Any]) -> tuple[Any, Any]:
        import torch
        from torch.nn import functional
        from torch.utils.data import default_collate

        x, y = default_collate(batch)
        n = x.shape[0]
        x = torch.where((torch.rand(n) < 0.5)[:, None, None, None], x.flip(3), x)
        angle = (torch.rand(n) * 2 - 1) * (self.factor * 2 * math.pi)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros(n)
        theta = torch.stack(
            [torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1
        )
        grid = functional.affine_grid(theta, list(x.shape), align_corners=False)
        x = functional.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
        return x, y


def make_loader(torch: Any, trial: Trial, x: Any, y: Any) -> Any:
    """The `loader` pipeline: a DataLoader over the in-memory training tensors (on the host)."""
    from torch.utils.data import DataLoader, TensorDataset

    return DataLoader(
        TensorDataset(x, y),
        batch_size=trial.batch_size,
        shuffle=False,
        drop_last=True,
        num_workers=trial.workers,
        pin_memory=trial.device_kind == "cuda",
        persistent_workers=trial.workers > 0,
        collate_fn=FlipRotate() if trial.augment else None,
    )


def host(device: Any, tensor: Any) -> Any:
    """A tensor the `memory` pipeline slices on the host: pinned where the device is CUDA (or
    ROCm), so that each batch's copy can be asynchronous, as a pinned DataLoader's is."""
    return tensor.pin_memory() if device.type == "cuda" else tensor


def nchw(torch: Any, images: Any) -> Any:
    """NHWC NumPy images → an NCHW tensor on the host, in the standard (contiguous) layout.

    Not `.permute(0, 3, 1, 2).contiguous()`: with one channel that permuted view already counts
    as contiguous, so it is kept — with channels-last strides, which send the convolutions to
    other (on CPU, faster) kernels than a DataLoader's batches get, and than 3-channel images get.
    """
    return torch.from_numpy(images).permute(0, 3, 1, 2).clone(memory_format=torch.contiguous_format)


class TorchRunner:
    time_fn = None

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.sync: Callable[[], None] = no_sync
        self.loader: Any = None
        self.evaluate = False
        self.info: dict[str, Any] = {}
        self.logits_dtype = ""
        self.recipe: Any = None  # the optimizer recipe, built in compile()
        self.flops: dict[str, int | None] = {}  # a native model's count, after training

    def import_framework(self) -> str:
        import torch

        self.torch = torch
        return torch.__version__

    def init_device(self) -> None:
        torch, trial = self.torch, self.trial
        torch.set_num_threads(trial.threads)
        torch.set_num_interop_threads(trial.threads)
        torch.manual_seed(trial.seed)
        apply_flags(torch, trial.precision, trial.autotune)
        self.device = torch_device(torch, trial.device_kind, trial.device)
        self.sync = pick_sync(trial.device_kind, torch)
        self.amp = Amp(torch, trial.precision, self.device.type)

    def make_data(self) -> None:
        torch, trial, device = self.torch, self.trial, self.device
        data = load_data(trial)
        self.info = dataset_identity(data)
        self.evaluate = evaluates(trial, len(data.y_val))
        x, y = self.shard(nchw(torch, data.x_train), torch.from_numpy(data.y_train))
        if trial.pipeline == "loader":
            self.loader = make_loader(torch, trial, x, y)
        else:
            self.x, self.y = host(device, x), host(device, y)
        if self.evaluate:
            self.x_val = host(device, nchw(torch, data.x_val))
            self.y_val = host(device, torch.from_numpy(data.y_val))

    def shard(self, x: Any, y: Any) -> tuple[Any, Any]:
        """The part of the training data this process trains on: all of it (a data-parallel
        rank takes its own slice, `bench.runners.torch_ddp`)."""
        return x, y

    def dataset_info(self) -> dict[str, Any]:
        return self.info

    def build(self) -> tuple[int, int]:
        from models import native, torch_build

        trial = self.trial
        if trial.definition == "native":  # the user's factory, after torch.manual_seed(seed)
            model = native.build_torch(trial.native, trial.input_shape, trial.classes)
        else:
            model = torch_build.build(model_spec(trial), seed=trial.seed)
        self.model = model.to(self.device)
        found = torch_tensor_kind(next(self.model.parameters()))
        require(placement_error(found, trial.device_kind, trial.device, "the model's parameters"))
        return torch_build.count_params(self.model)

    def compile(self) -> None:
        torch, trial = self.torch, self.trial
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.recipe = TorchRecipe(torch, params, trial.recipe, trial.total_steps)
        self.optimizer = self.recipe.optimizer
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.step_model = torch.compile(self.model) if trial.mode == "compile" else self.model

    def fit(self, clock: TrainingClock) -> None:
        steps = self.trial.steps_per_epoch
        self.step_model.train()
        clock.start_training()
        for epoch in range(1, self.trial.epochs + 1):
            if epoch > 1:
                clock.epoch_begin()
            total, correct = self._train_epoch(clock, first=epoch == 1)
            clock.epoch_end(lambda total=total: (total / steps).item())
            if self.evaluate:  # the epoch's clock has stopped; the next epoch_begin restarts it
                clock.note(self._validation(epoch, correct))
        # What the first step's forward pass produced: bfloat16/float16 logits under autocast.
        clock.note({"event": "settings", "values": {"torch.logits_dtype": self.logits_dtype}})
        self.count_flops(clock)

    def _batches(self) -> Iterator[tuple[Any, Any]]:
        """One epoch's (inputs, labels) batches on the device, from either pipeline."""
        if self.loader is not None:
            device = self.device
            for xb, yb in self.loader:
                yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            return
        x, y, bs, device = self.x, self.y, self.trial.batch_size, self.device
        for i in range(self.trial.steps_per_epoch):
            batch = slice(i * bs, (i + 1) * bs)
            yield x[batch].to(device, non_blocking=True), y[batch].to(device, non_blocking=True)

    def _train_epoch(self, clock: TrainingClock, first: bool) -> tuple[Any, Any]:
        torch, model, opt, loss_fn = self.torch, self.step_model, self.optimizer, self.loss_fn
        total = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device) if self.evaluate else None
        amp, recipe = self.amp, self.recipe
        for i, (xb, yb) in enumerate(self._batches()):
            opt.zero_grad(set_to_none=True)
            with amp.autocast():
                out = model(xb)
                loss = loss_fn(out, yb)
            amp.backward_step(loss, opt, recipe.clip)
            recipe.scheduled()
            total += loss.detach()
            if correct is not None:
                correct += (out.detach().argmax(1) == yb).sum()
            if first and i == 0:
                clock.first_step_done()
                self.logits_dtype = str(out.dtype)
            clock.step_done()
        return total, correct

    def _validation(self, epoch: int, correct: Any) -> dict[str, Any]:
        """Evaluate on the validation tensors (batches of the trial's size); time it."""
        torch, model, bs = self.torch, self.model, self.trial.batch_size
        accuracy = correct.item() / self.trial.rank_samples_per_epoch
        start = time.monotonic()
        model.eval()
        loss_sum = torch.zeros((), device=self.device)
        hits = torch.zeros((), dtype=torch.int64, device=self.device)
        n = len(self.y_val)
        with torch.no_grad(), self.amp.autocast():
            for i in range(0, n, bs):
                xb = self.x_val[i : i + bs].to(self.device, non_blocking=True)
                yb = self.y_val[i : i + bs].to(self.device, non_blocking=True)
                out = model(xb)
                loss_sum += torch.nn.functional.cross_entropy(out, yb, reduction="sum")
                hits += (out.argmax(1) == yb).sum()
        val_loss, val_hits = loss_sum.item() / n, hits.item()  # .item() waits for the device
        model.train()
        return {
            "event": "validation",
            "epoch": epoch,
            "accuracy": accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_hits / n,
            "val_s": round(time.monotonic() - start, 9),
        }

    def device_peaks(self) -> list[Any]:
        return device_peaks(self.torch, self.trial.device_kind, self.device)

    def step_timer(self) -> Any:
        """steps.csv on a GPU: device events, no per-step sync (None: host timestamps)."""
        return step_timer(self.torch, self.trial.device_kind)

    def flops_model(self) -> Any:
        """The module whose FLOPs are counted: the uncompiled model (DDP: the wrapped module)."""
        return self.model

    def count_flops(self, clock: TrainingClock) -> None:
        """A native model's (no spec to count from) training FLOPs per sample, by
        FlopCounterMode on `flops_model()` after training, outside every timed interval. Where
        they cannot be counted, the traceback goes to the trial's log and settings.csv's
        `model.flops_error` says why; `flops_per_sample` stays empty."""
        if self.trial.definition != "native":
            return
        from models.native import train_flops

        shape, model = self.trial.input_shape, self.flops_model()
        try:
            self.flops = {"flops_per_sample": train_flops(self.torch, model, shape, self.device)}
        except Exception as exc:  # the timing stands without the count: say why it is missing
            traceback.print_exc()
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.flops = {"flops_per_sample": None}
            clock.note({"event": "settings", "values": {"model.flops_error": why}})

    def stats(self) -> dict[str, float | int | None]:
        """torch.compile's statistics, and a native model's FLOPs (`count_flops`)."""
        out = dynamo_stats(self.torch) if self.trial.mode == "compile" else {}
        return out | self.flops

    def settings(self) -> dict[str, str]:
        torch = self.torch
        values = {
            "torch.num_threads": torch.get_num_threads(),
            "torch.num_interop_threads": torch.get_num_interop_threads(),
            **precision_settings(torch),
            **self.amp.settings(),
            "torch.backends.mkldnn.enabled": torch.backends.mkldnn.enabled,
            "torch.backends.mkldnn.available": torch.backends.mkldnn.is_available(),
            "dtype": str(next(self.model.parameters()).dtype),
            "torch.compile": self.trial.mode == "compile",
            **(self.recipe.settings() if self.recipe is not None else {}),  # None: no compile()
            **device_settings(torch, self.trial.device_kind, self.device),
            **model_settings(self.trial),
        }
        return {k: str(v) for k, v in values.items()}


def make(trial: Trial) -> TorchRunner:
    return TorchRunner(trial)
