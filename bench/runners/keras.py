"""Keras 3 runner: `model.fit` as a Keras user calls it, on the TensorFlow, JAX or torch backend.

Epoch boundaries come from a callback. It overrides only `on_epoch_begin`, `on_epoch_end` and
`on_train_batch_begin`: overriding `on_train_batch_end` would make Keras turn each step's logs
into Python floats — a host sync per step that a plain `fit` does not do. steps.csv's step ends
are marked there too, at the start of the next batch (a time read; the epoch's last step ends
at `epoch_end`): on TensorFlow, which syncs every step's logs anyway, that is when the step
ended; on JAX and torch GPUs, whose dispatch runs ahead, it is when the host issued the next
step — the steady intervals still average to the step time, but single steps are dispatch
times (docs/method.md). The end of the first
step is observed at the start of the second, after `sync()` has waited for step 1: on TensorFlow
by `tf.test.experimental.sync_devices()`, which waits for every device (each replica's GPU
under MirroredStrategy; older TF: fetching `optimizer.iterations`, incremented at the end of
every step); on JAX by blocking on the trainer's state, since during `fit` the variables do not
hold it; on torch GPUs by synchronizing the device; on torch's CPU by that fetch (see
`keras_backends`).

Device: `device_init` proves that the backend can use the trial's device and that Keras's first
tensor lands there (`keras_backends.check_placement`), and `build` that the model's weights did
(`keras_backends.check_weights`), or the trial fails with a `PlacementError` saying why;
`settings()` records each backend's precision flags (TF32) under the names `bench.hardware.mfu`
reads. Before that, `keras_precision.apply` sets the trial's dtype
policy (mixed_bfloat16 / mixed_float16 for bf16 / fp16), its TF32 and torch's autotune flags;
the built model's logits are cast to float32 under a mixed policy, and fp16 trials train with a
`LossScaleOptimizer` (see `bench.runners.keras_precision`).

Modes: `graph` is `compile(jit_compile=False)`, a traced `tf.function` without XLA; `eager` is
`run_eagerly=True`; `xla` is `jit_compile=True` (XLA on TensorFlow and JAX, torch.compile on the
torch backend). Keras's own default, `jit_compile="auto"`, turns XLA on whenever TensorFlow sees
a GPU; `bench` always passes the mode explicitly. The backend is chosen by the parent through
`KERAS_BACKEND` before Keras is imported.

Pipelines: `memory` hands the NumPy arrays to `fit(x, y, batch_size, shuffle=False)`: Keras's
array data adapter slices them on the host and each batch is copied to the device (the torch
runner's `memory` pipeline does the same with pinned host tensors); `loader` is
`tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)`, with
`augment` mapped through `RandomFlip("horizontal")` and `RandomRotation(0.1)` in parallel, then
`.prefetch(AUTOTUNE)` (TensorFlow backend only: the plan skips it on the others). tf.data uses
its own thread pool, sized by TensorFlow.

When the trial evaluates (real data, `[data] evaluate`), the model is compiled with
`metrics=["accuracy"]` (a per-step metric update, matched by the torch runner's per-step count of
correct predictions), and the callback runs `model.evaluate` on the validation arrays after
`clock.epoch_end` — outside the epoch's time, unlike `fit(validation_data=...)`, which evaluates
before `on_epoch_end` — and reports it as a `validation` event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench.runners import keras_backends as backends
from bench.runners import keras_precision as precision
from bench.runners import optim_keras
from bench.runners.base import (
    dataset_identity,
    evaluates,
    load_data,
    model_settings,
    model_spec,
)

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial


#: Rotation range of augmentation, a fraction of a full turn (±36°), as in the torch runner.
ROTATION = 0.1


def tf_pipeline(tf: Any, keras: Any, trial: Trial, x: Any, y: Any) -> Any:
    """The `loader` pipeline: batched (remainder dropped), optionally augmented, prefetched."""
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(trial.batch_size, drop_remainder=True)
    if trial.augment:
        flip = keras.layers.RandomFlip("horizontal", seed=trial.seed)
        rotate = keras.layers.RandomRotation(ROTATION, seed=trial.seed)
        data = data.map(
            lambda xb, yb: (rotate(flip(xb, training=True), training=True), yb),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return data.prefetch(tf.data.AUTOTUNE)


class KerasRunner:
    time_fn = None

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.model: Any = None
        self.tf: Any = None
        self.framework: Any = None  # the module under Keras: tensorflow, jax or torch
        self.device_sync: Callable[[], None] | None = None
        self.train_data: Any = None
        self.evaluate = False
        self.info: dict[str, Any] = {}

    def import_framework(self) -> str:
        import keras

        self.keras = keras
        version = f"{keras.__version__} ({keras.backend.backend()}"
        self.framework = backends.import_backend(self.trial.backend)
        if self.trial.backend == "tensorflow":
            self.tf = self.framework
        return f"{version} {self.framework.__version__})"

    def init_device(self) -> None:
        trial = self.trial
        if self.tf is not None:
            tf = self.tf
            tf.config.threading.set_intra_op_parallelism_threads(trial.threads)
            tf.config.threading.set_inter_op_parallelism_threads(trial.threads)
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)
        elif trial.backend == "torch":
            self.framework.set_num_threads(trial.threads)
            self.framework.set_num_interop_threads(trial.threads)
        self.keras.utils.set_random_seed(trial.seed)
        kind, framework = trial.device_kind, self.framework
        precision.apply(self.keras, trial.backend, framework, trial.precision, trial.autotune)
        backends.check_placement(self.keras, trial.backend, framework, kind, trial.device)
        self.device_sync = backends.device_sync(trial.backend, framework, kind)

    def make_data(self) -> None:
        trial = self.trial
        data = load_data(trial)
        self.info = dataset_identity(data)
        self.evaluate = evaluates(trial, len(data.y_val))
        self.x, self.y = data.x_train, data.y_train
        self.x_val, self.y_val = data.x_val, data.y_val
        if trial.pipeline == "loader":
            self.train_data = tf_pipeline(self.tf, self.keras, trial, self.x, self.y)

    def dataset_info(self) -> dict[str, Any]:
        return self.info

    def build(self) -> tuple[int, int]:
        from models import keras_build, native

        trial = self.trial
        if trial.definition == "native":  # the user's factory, after set_random_seed(seed)
            model = native.build_keras(trial.native, trial.input_shape, trial.classes)
        else:
            model = keras_build.build(model_spec(trial), seed=trial.seed)
        self.model = precision.float32_output(self.keras, model)
        backends.check_weights(trial.backend, self.model, trial.device_kind, trial.device)
        return keras_build.count_params(self.model)

    def compile(self) -> None:
        keras, trial = self.keras, self.trial
        optimizer = optim_keras.make_optimizer(keras, trial.recipe, trial.total_steps)
        self.model.compile(
            optimizer=precision.loss_scaled(keras, optimizer, trial.precision),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"] if self.evaluate else None,
            run_eagerly=trial.mode == "eager",
            jit_compile=trial.mode == "xla",
        )

    def fit_batch_size(self) -> int:
        """The batch `fit` gets: the trial's (data-parallel: the global batch, `keras_data`)."""
        return self.trial.batch_size

    def fit(self, clock: TrainingClock) -> None:
        trial = self.trial
        callback = _clock_callback(self.keras, clock, self._validation if self.evaluate else None)
        if self.train_data is not None:
            data = {"x": self.train_data}
        else:
            batch = self.fit_batch_size()
            data = {"x": self.x, "y": self.y, "batch_size": batch, "shuffle": False}
        clock.start_training()
        self.model.fit(**data, epochs=trial.epochs, verbose=0, callbacks=[callback])

    def _validation(self, epoch: int, logs: dict[str, Any]) -> dict[str, Any]:
        """Evaluate on the validation arrays (batches of the trial's size); time it."""
        start = time.monotonic()
        result = self.model.evaluate(
            self.x_val, self.y_val, batch_size=self.trial.batch_size, verbose=0, return_dict=True
        )
        val_s = time.monotonic() - start
        return {
            "event": "validation",
            "epoch": epoch,
            "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(result.get("loss")),
            "val_accuracy": _number(result.get("accuracy")),
            "val_s": round(val_s, 9),
        }

    def sync(self) -> None:
        """Wait for the devices: their queues (TensorFlow, torch on a GPU), the JAX trainer's
        state during `fit`, else fetch a value that the latest device work wrote to the host."""
        model = self.model
        if self.device_sync is not None:
            self.device_sync()
            return
        if model is None or not model.weights:
            return
        if self.trial.backend == "jax" and backends.jax_sync(self.framework, model):
            return
        optimizer = getattr(model, "optimizer", None)
        variable = optimizer.iterations if optimizer is not None and optimizer.built else None
        self.keras.ops.convert_to_numpy(variable if variable is not None else model.weights[-1])

    def device_peaks(self) -> list[Any]:
        return backends.device_peaks(self.trial.backend, self.framework, self.trial.device_kind)

    def stats(self) -> dict[str, float | int | None]:
        """Keras has no public account of its tracing or XLA compilation (its train function
        is a closure around an inner tf.function); that time is measured as `first_step`. A
        native model (no spec to count from) gets its conv and dense training FLOPs per sample
        from its built layers (`models.keras_flops`), counted after training."""
        if self.trial.definition != "native":
            return {}
        from models import keras_flops

        counted = keras_flops.count(self.keras, self.model, tuple(self.trial.input_shape))
        return {"flops_per_sample": None if counted is None else counted[1]}

    def settings(self) -> dict[str, str]:
        keras, model = self.keras, self.model
        values: dict[str, Any] = {
            "keras.backend": keras.backend.backend(),
            "keras.floatx": keras.config.floatx(),
            "keras.run_eagerly": model.run_eagerly,
            "keras.jit_compile": model.jit_compile,
        }
        trial = self.trial
        values |= backends.backend_settings(trial.backend, self.framework, trial.device_kind)
        values |= precision.settings(keras, model)
        recipe = trial.recipe
        if model.optimizer is not None:  # None: compile() did not run
            values |= optim_keras.recipe_settings(
                model.optimizer, recipe, trial.backend, trial.mode
            )
        values |= model_settings(trial)
        return {k: str(v) for k, v in values.items()}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _clock_callback(
    keras: Any,
    clock: TrainingClock,
    validate: Callable[[int, dict[str, Any]], dict[str, Any]] | None,
) -> Any:
    class ClockCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch > 0:
                clock.epoch_begin()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if batch == 1 and clock.epoch == 1:
                clock.first_step_done()
            if batch:  # the previous step has ended (the epoch's last: at `epoch_end`)
                clock.step_done()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.epoch_end((logs or {}).get("loss"))
            if validate is not None:  # the epoch's clock has stopped
                clock.note(validate(epoch + 1, logs or {}))

    return ClockCallback()


def make(trial: Trial) -> KerasRunner:
    return KerasRunner(trial)
