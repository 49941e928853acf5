"""Keras 3 runner: `model.fit` as a Keras user calls it, on the TensorFlow, JAX or torch backend.

Epoch boundaries come from a callback. It overrides only `on_epoch_begin`, `on_epoch_end` and
`on_train_batch_begin`: overriding `on_train_batch_end` would make Keras turn each step's logs
into Python floats — a host sync per step that a plain `fit` does not do. The end of the first
step is observed at the start of the second, after fetching `optimizer.iterations` to the host
(it is incremented at the end of every step, so the fetch waits for step 1 to finish).

Modes: `graph` is `compile(jit_compile=False)`, a traced `tf.function` without XLA; `eager` is
`run_eagerly=True`; `xla` is `jit_compile=True` (XLA on TensorFlow and JAX, torch.compile on the
torch backend). Keras's own default, `jit_compile="auto"`, turns XLA on whenever TensorFlow sees
a GPU; `bench` always passes the mode explicitly. The backend is chosen by the parent through
`KERAS_BACKEND` before Keras is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.runners.base import model_spec, synthetic_data

if TYPE_CHECKING:
    from bench.clock import Clock
    from bench.plan import Trial


class TfGpuPeak:
    """Per-epoch peak of TensorFlow's allocator on GPU:0 (`tf.config.experimental`)."""

    source = "tf_get_memory_info_peak"

    def __init__(self, tf: Any) -> None:
        self._tf = tf

    def reset(self) -> None:
        self._tf.config.experimental.reset_memory_stats("GPU:0")

    def peak(self) -> int:
        return int(self._tf.config.experimental.get_memory_info("GPU:0")["peak"])


class KerasRunner:
    time_fn = None

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.model: Any = None
        self.tf: Any = None

    def import_framework(self) -> str:
        import keras

        self.keras = keras
        version = f"{keras.__version__} ({keras.backend.backend()}"
        if self.trial.backend == "tensorflow":
            import tensorflow as tf

            self.tf, version = tf, f"{version} {tf.__version__}"
        elif self.trial.backend == "torch":
            import torch

            self.torch, version = torch, f"{version} {torch.__version__}"
        return version + ")"

    def init_device(self) -> None:
        trial = self.trial
        if self.tf is not None:
            tf = self.tf
            tf.config.threading.set_intra_op_parallelism_threads(trial.threads)
            tf.config.threading.set_inter_op_parallelism_threads(trial.threads)
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)
        elif trial.backend == "torch":
            self.torch.set_num_threads(trial.threads)
            self.torch.set_num_interop_threads(trial.threads)
        self.keras.utils.set_random_seed(trial.seed)
        # Create the runtime (and GPU context) now, not in step 1.
        self.keras.ops.convert_to_numpy(self.keras.ops.zeros((1,)))

    def make_data(self) -> None:
        self.x, self.y = synthetic_data(self.trial)

    def build(self) -> tuple[int, int]:
        from models import keras_build

        self.model = keras_build.build(model_spec(self.trial))
        return keras_build.count_params(self.model)

    def compile(self) -> None:
        keras, trial = self.keras, self.trial
        if trial.optimizer == "adam":
            optimizer = keras.optimizers.Adam(learning_rate=trial.learning_rate, epsilon=1e-7)
        else:
            optimizer = keras.optimizers.SGD(learning_rate=trial.learning_rate)
        self.model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            run_eagerly=trial.mode == "eager",
            jit_compile=trial.mode == "xla",
        )

    def fit(self, clock: Clock) -> None:
        callback = _clock_callback(self.keras, clock)
        clock.start_training()
        self.model.fit(
            self.x,
            self.y,
            batch_size=self.trial.batch_size,
            epochs=self.trial.epochs,
            shuffle=False,
            verbose=0,
            callbacks=[callback],
        )

    def sync(self) -> None:
        """Fetch a value that the latest device work wrote to the host."""
        model = self.model
        if model is None or not model.weights:
            return
        optimizer = getattr(model, "optimizer", None)
        variable = optimizer.iterations if optimizer is not None and optimizer.built else None
        self.keras.ops.convert_to_numpy(variable if variable is not None else model.weights[-1])

    def device_peaks(self) -> list[Any]:
        if self.trial.device_kind != "cuda":
            return []
        if self.tf is not None:
            return [TfGpuPeak(self.tf)]
        if self.trial.backend == "torch":
            from bench.runners.torch import cuda_peaks

            return cuda_peaks(self.torch, self.torch.device("cuda:0"))
        return []

    def stats(self) -> dict[str, float | int | None]:
        """Keras has no public account of its tracing or XLA compilation (its train function
        is a closure around an inner tf.function); that time is measured as `first_step`."""
        return {}

    def settings(self) -> dict[str, str]:
        keras, model = self.keras, self.model
        values: dict[str, Any] = {
            "keras.backend": keras.backend.backend(),
            "keras.floatx": keras.config.floatx(),
            "keras.run_eagerly": model.run_eagerly,
            "keras.jit_compile": model.jit_compile,
        }
        if self.tf is not None:
            tf = self.tf
            values |= {
                "tf.intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf.inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "tf.tensor_float_32": tf.config.experimental.tensor_float_32_execution_enabled(),
                "tf.gpus": len(tf.config.list_physical_devices("GPU")),
            }
        elif self.trial.backend == "torch":
            values["torch.num_threads"] = self.torch.get_num_threads()
        return {k: str(v) for k, v in values.items()}


def _clock_callback(keras: Any, clock: Clock) -> Any:
    class ClockCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch > 0:
                clock.epoch_begin()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if batch == 1 and clock.epoch == 1:
                clock.first_step_done()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.epoch_end((logs or {}).get("loss"))

    return ClockCallback()


def make(trial: Trial) -> KerasRunner:
    return KerasRunner(trial)
