"""The Runner protocol every framework implements, the runner registry, and the trial's data.

A runner trains the way a user of its framework would; the harness (`bench.trial`) calls its
methods in phase order and owns the clock. Runner modules import their framework lazily, inside
`import_framework`, so that the import is timed as its own phase.

Data comes from `bench.data.load` (`load_data`); a runner reports what it read through
`dataset_info()`, which the harness writes as a `dataset` event (`dataset_event`). Validation
(`evaluates`) runs after an epoch's clock has stopped and is reported as a `validation` event.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bench.contract.clock import PeakProbe, TrainingClock
    from bench.contract.trial import Trial
    from bench.data.load import Dataset

RUNNER_MODULES = {
    "torch": "bench.runners.torch",
    "keras": "bench.runners.keras",
    "numpy": "bench.runners.numpy",
    "fake": "bench.runners.fake",
    "torch.data": "bench.runners.torch_ddp",  # data-parallel variants: "<framework>.data"
    "keras.data": "bench.runners.keras_data",
}


class Runner(Protocol):
    """What `bench.trial` needs from a framework. One instance runs one trial."""

    #: The clock's time source; None means the real monotonic clock (only `fake` scripts time).
    time_fn: Callable[[], float] | None

    def import_framework(self) -> str:
        """Import the framework; return its version string."""

    def init_device(self) -> None:
        """Apply threads and precision flags; create the device context."""

    def make_data(self) -> None:
        """Build the dataset and place it where the training loop reads it."""

    def dataset_info(self) -> dict[str, Any]:
        """After `make_data`: the identity of the data read (`dataset_identity`)."""

    def build(self) -> tuple[int, int]:
        """Construct the model; return (trainable, non-trainable) parameter counts."""

    def compile(self) -> None:
        """Optimizer, loss, and any compile/wrapping step."""

    def fit(self, clock: TrainingClock) -> None:
        """Train `trial.epochs` epochs, calling the clock at its boundaries."""

    def sync(self) -> None:
        """Block until the device has finished all queued work."""

    def device_peaks(self) -> list[PeakProbe]:
        """Per-epoch device-memory peak readers, primary first ([] on CPU trials)."""

    def stats(self) -> dict[str, float | int | None]:
        """After training: what the framework reports about its own compilation."""

    def settings(self) -> dict[str, str]:
        """The values actually in effect in this process (threads, precision flags, ...)."""


def make_runner(trial: Trial) -> Runner:
    """The runner for `trial.framework` (imports the runner module, not the framework)."""
    key = f"{trial.framework}.{trial.parallel}"
    module = importlib.import_module(RUNNER_MODULES.get(key, RUNNER_MODULES[trial.framework]))
    return module.make(trial)


def model_spec(trial: Trial) -> Any:
    """The trial's model spec: its architecture at the trial's input shape and options (a
    user's model: from the spec files and tables the trial carries, loaded as the parent did)."""
    from models import user, zoo

    if trial.user_models:
        user.install(trial.user_models)
    return zoo.get(trial.model, trial.input_shape, trial.classes, **trial.model_options)


def model_settings(trial: Trial) -> dict[str, str]:
    """settings.csv's record of a user's model: a native model's factory and whose initial
    weights it starts from, or the file or table a spec model came from ({} for the zoo's)."""
    if trial.definition == "native":
        return {
            "model.definition": "native",
            "model.factory": trial.native,
            "model.initial_weights": f"the factory's own ({trial.framework} RNG seeded with "
            f"{trial.seed}); not identical to another framework's",
        }
    from models import zoo

    origin = zoo.info(trial.model).origin if trial.user_models else ""
    return {"model.origin": origin} if origin else {}


def is_oom(exc: BaseException) -> bool:
    """Out of memory, whichever framework raised it (torch.cuda.OutOfMemoryError,
    tf.errors.ResourceExhaustedError, jaxlib's RESOURCE_EXHAUSTED, MemoryError)."""
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__} {str(exc)[:500]}"
    return any(
        k in text
        for k in ("OutOfMemory", "ResourceExhausted", "RESOURCE_EXHAUSTED", "out of memory")
    )


def load_data(trial: Trial) -> Dataset:
    """The trial's training (exactly one epoch's samples) and validation arrays, NHWC float32.

    Synthetic data gets no validation split: its labels are random, so it is never evaluated,
    and its training arrays are exactly the seeded draws of earlier versions.
    """
    from bench.data.load import load, parse

    synthetic = parse(trial.dataset)[0] == "synthetic"
    return load(
        trial.dataset,
        trial.input_shape,
        trial.classes,
        trial.samples_per_epoch,
        trial.seed,
        val_fraction=0.0 if synthetic else trial.val_fraction,
    )


def dataset_identity(data: Dataset) -> dict[str, Any]:
    """What `dataset_info` reports: where the data came from and how much of it there is."""
    return {
        "name": data.name,
        "spec": data.spec,
        "path": data.path,
        "checksum": data.checksum,
        "files_read": data.files_read,
        "skipped": data.skipped,
        "source_samples": data.source_samples,
        "train_samples": len(data.y_train),
        "val_samples": len(data.y_val),
    }


def dataset_event(runner: Runner) -> dict[str, Any]:
    """The `dataset` event for the sink; a runner without data of its own (fake) reports none."""
    info = getattr(runner, "dataset_info", None)
    return {"event": "dataset", **(info() if info is not None else {})}


def evaluates(trial: Trial, val_samples: int) -> bool:
    """Whether the trial measures accuracy and validates each epoch: `[data] evaluate`, on
    real data with a validation split."""
    return trial.evaluate and val_samples > 0


def no_sync() -> None:
    """Synchronizing a CPU device: everything already ran when the call returned."""
