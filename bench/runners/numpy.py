"""NumPy runner: forward and backward written by hand (`numpy_layers`), on the CPU.

The loop is the torch runner's: for each batch of the memory pipeline (the training arrays
sliced in order, `steps_per_epoch` × `batch_size`, no shuffle), forward, softmax cross-entropy on
the logits (mean over the batch), backward, optimizer step — torch's update rules, clipping and
learning-rate schedule exactly (`numpy_optim`, the recipe of `bench.contract.recipe`). The model
starts from the same arrays `models.initial` gives torch and Keras. float32 throughout.

Phases: `import` imports NumPy and threadpoolctl; `device_init` limits the BLAS thread pool to
the trial's threads (`threadpoolctl.threadpool_limits`, kept for the whole trial); `data` loads
the arrays (they are already where the loop reads them); `build` draws the weights into the
network; `compile` creates the optimizer, whose state, as torch's, is allocated at the first
step: an honest, nearly empty phase. NumPy is synchronous, so `sync` does nothing: when a call
returns, its work is done. Only host memory is measured (by the harness): no device peaks.

When the trial evaluates, correct predictions are counted every step (the counterpart of
torch's per-step count and Keras's accuracy metric), and after each epoch's clock has stopped the
validation arrays are evaluated (inference: dropout off) and reported as a `validation` event.

What it cannot run is planned as `skipped` (`plan_skip`): a GPU device, the `loader` pipeline,
and models with a layer it does not implement (`SUPPORTED_LAYERS`). This module imports NumPy
only inside its methods, so the parent can ask `plan_skip` without importing it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bench.runners.base import (
    dataset_identity,
    evaluates,
    load_data,
    model_settings,
    model_spec,
    no_sync,
)

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial
    from models.spec import Layer, ModelSpec

#: The spec layers the numpy runner implements (`models.spec` class names).
SUPPORTED_LAYERS = ("Conv", "MaxPool", "ReLU", "Flatten", "Dense", "Dropout", "GlobalAvgPool")


def _kinds(layers: tuple[Layer, ...]) -> list[str]:
    """Every layer class name in `layers`, a Residual's body and shortcut included."""
    names = []
    for layer in layers:
        names.append(type(layer).__name__)
        for branch in ("body", "shortcut"):
            names += _kinds(getattr(layer, branch, ()))
    return names


def unsupported_layers(spec: ModelSpec) -> list[str]:
    """The layer kinds of `spec` the numpy runner lacks, in order of first appearance."""
    return list(dict.fromkeys(k for k in _kinds(spec.layers) if k not in SUPPORTED_LAYERS))


def plan_skip(spec: ModelSpec, device_kind: str, pipeline: str) -> str:
    """Why a numpy trial cannot run ("" when it can): the device, the pipeline, the layers."""
    if device_kind != "cpu":
        return f"NumPy computes on the CPU only; a numpy trial on a {device_kind} device is not run"
    if pipeline != "memory":
        return (
            f"the numpy runner has no {pipeline} pipeline (NumPy has no DataLoader or tf.data); "
            "its batches are slices of the in-memory arrays: use the memory pipeline"
        )
    if missing := unsupported_layers(spec):
        return (
            f"the numpy runner has no {', '.join(missing)} layer (it implements "
            f"{', '.join(SUPPORTED_LAYERS)})"
        )
    return ""


class NumpyRunner:
    time_fn = None
    sync = staticmethod(no_sync)

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.evaluate = False
        self.info: dict[str, Any] = {}

    def import_framework(self) -> str:
        import numpy
        import threadpoolctl

        self.np, self.threadpoolctl = numpy, threadpoolctl
        return numpy.__version__

    def init_device(self) -> None:
        # Kept for the whole trial: the limit holds until it is restored or the process ends.
        self.limits = self.threadpoolctl.threadpool_limits(limits=self.trial.threads)

    def make_data(self) -> None:
        data = load_data(self.trial)
        self.info = dataset_identity(data)
        self.evaluate = evaluates(self.trial, len(data.y_val))
        self.x, self.y = data.x_train, data.y_train
        self.x_val, self.y_val = data.x_val, data.y_val

    def dataset_info(self) -> dict[str, Any]:
        return self.info

    def build(self) -> tuple[int, int]:
        from bench.runners.numpy_model import Network

        self.model = Network(model_spec(self.trial), seed=self.trial.seed)
        return self.model.counts()

    def compile(self) -> None:
        from bench.runners.numpy_optim import NumpyRecipe

        trial = self.trial
        self.optimizer = NumpyRecipe(self.model.params, trial.recipe, trial.total_steps)

    def fit(self, clock: TrainingClock) -> None:
        steps = self.trial.steps_per_epoch
        clock.start_training()
        for epoch in range(1, self.trial.epochs + 1):
            if epoch > 1:
                clock.epoch_begin()
            total, correct = self._train_epoch(clock, first=epoch == 1)
            clock.epoch_end(total / steps)
            if self.evaluate:  # the epoch's clock has stopped; the next epoch_begin restarts it
                clock.note(self._validation(epoch, correct))

    def _train_epoch(self, clock: TrainingClock, first: bool) -> tuple[float, int]:
        model, step, bs = self.model, self.optimizer.step, self.trial.batch_size
        total, correct = 0.0, 0
        for i in range(self.trial.steps_per_epoch):
            xb, yb = self.x[i * bs : (i + 1) * bs], self.y[i * bs : (i + 1) * bs]
            loss, logits = model.train_step(xb, yb)
            step(model.grads)
            total += float(loss)
            if self.evaluate:
                correct += int((logits.argmax(1) == yb).sum())
            if first and i == 0:
                clock.first_step_done()
            clock.step_done()
        return total, correct

    def _validation(self, epoch: int, correct: int) -> dict[str, Any]:
        """Evaluate on the validation arrays (batches of the trial's size); time it."""
        from bench.runners.numpy_model import softmax_cross_entropy

        bs, n = self.trial.batch_size, len(self.y_val)
        start = time.monotonic()
        loss_sum, hits = 0.0, 0
        for i in range(0, n, bs):
            xb, yb = self.x_val[i : i + bs], self.y_val[i : i + bs]
            logits = self.model.forward(xb, training=False)
            loss, _ = softmax_cross_entropy(logits, yb)
            loss_sum += float(loss) * len(yb)
            hits += int((logits.argmax(1) == yb).sum())
        return {
            "event": "validation",
            "epoch": epoch,
            "accuracy": correct / self.trial.samples_per_epoch,
            "val_loss": loss_sum / n,
            "val_accuracy": hits / n,
            "val_s": round(time.monotonic() - start, 9),
        }

    def device_peaks(self) -> list:
        return []

    def stats(self) -> dict[str, float | int | None]:
        return {}

    def settings(self) -> dict[str, str]:
        blas = [i for i in self.threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]

        def each(key: str) -> str:
            return ";".join(str(lib.get(key, "")) for lib in blas)

        values = {
            "numpy.threads": self.trial.threads,
            "numpy.blas.internal_api": each("internal_api"),
            "numpy.blas.version": each("version"),
            "numpy.blas.num_threads": each("num_threads"),
            "numpy.blas.threading_layer": each("threading_layer"),
            "dtype": str(self.model.params.dtype),
            **self.optimizer.settings(),
            **model_settings(self.trial),
        }
        return {k: str(v) for k, v in values.items()}


def make(trial: Trial) -> NumpyRunner:
    return NumpyRunner(trial)
