"""Keras 3 runner (TensorFlow backend): `model.fit` as a Keras user calls it.

Epoch boundaries come from a callback. It overrides only `on_epoch_begin`, `on_epoch_end` and
`on_train_batch_begin`: overriding `on_train_batch_end` would make Keras turn each step's logs
into Python floats — a host sync per step that a plain `fit` does not do. The end of the first
step is observed at the start of the second, after fetching `optimizer.iterations` to the host
(it is incremented at the end of every step, so the fetch waits for step 1 to finish).

Mode `graph` is `model.compile(jit_compile=False)`: a traced `tf.function` without XLA. Note
that Keras's own default, `jit_compile="auto"`, turns XLA on whenever TensorFlow sees a GPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.runners.base import synthetic_data

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

    def import_framework(self) -> str:
        import keras
        import tensorflow as tf

        self.keras, self.tf = keras, tf
        return f"{keras.__version__} (tensorflow {tf.__version__})"

    def init_device(self) -> None:
        tf, trial = self.tf, self.trial
        tf.config.threading.set_intra_op_parallelism_threads(trial.threads)
        tf.config.threading.set_inter_op_parallelism_threads(trial.threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
        self.keras.utils.set_random_seed(trial.seed)
        tf.zeros(1).numpy()  # creates the runtime (and GPU context) now, not in step 1

    def make_data(self) -> None:
        self.x, self.y = synthetic_data(self.trial)

    def build(self) -> tuple[int, int]:
        from models import keras_build, zoo

        spec = zoo.get(self.trial.model, self.trial.input_shape, self.trial.classes)
        self.model = keras_build.build(spec)
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
            jit_compile=False,
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
        if optimizer is not None and optimizer.built:
            optimizer.iterations.numpy()
        else:
            model.weights[-1].numpy()

    def device_peak(self) -> TfGpuPeak | None:
        return TfGpuPeak(self.tf) if self.trial.device_kind == "cuda" else None

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, MemoryError | self.tf.errors.ResourceExhaustedError)


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
