"""What differs between Keras's backends (TensorFlow, JAX, torch): the framework under Keras, the
proof that it placed work on the trial's device, how to wait for the device, the device-memory
probes and the precision flags in effect.

Placement: the framework must be able to use the device kind at all
(`bench.hardware.placement.*_device_error`: a CPU-only build, no visible GPU, a driver problem),
and a tensor Keras creates with its default placement (`keras.ops.zeros`, as its layers and
optimizer do) must land there: TensorFlow's `.device` string names a GPU, a JAX array's device
platform is "gpu", a torch tensor's `.device.type` is the trial's kind (Keras on torch picks
`KERAS_TORCH_DEVICE`, else "mps", else "cuda", else the CPU: keras/src/backend/torch/core.py).
After `build` the model's first weight is checked the same way (`check_weights`: its backend
value, a `tf.Variable` — under MirroredStrategy a mirrored one, whose `.device` is the primary
replica's —, a JAX array, a torch parameter).

Sync on JAX (`jax_sync`): during `fit` Keras's JAX trainer keeps the training state outside the
model's variables. At the start of each epoch `_get_jax_state(..., purge_model_variables=True)`
sets every variable's `_value` to None; each step's outputs are kept in `model._jax_state` (a
dict of trainable, non-trainable, optimizer and metrics variable lists) and written back only by
`jax_state_sync()` at the epoch's end (keras/src/backend/jax/trainer.py). Inside an epoch,
`optimizer.iterations.value` is therefore a placeholder, not step 1's result (and in Keras 3.15
reading it fails: the variable's initializer is gone), so `jax.block_until_ready` on
`model._jax_state` is what waits for the steps dispatched so far. On torch, the GPU's queue is
waited for (`torch.cuda.synchronize()`, `torch.mps.synchronize()`). On TensorFlow,
`tf.test.experimental.sync_devices()` waits for every logical device (`tf_sync`).

Memory on JAX GPUs: `Device.memory_stats()` gives `bytes_in_use` and `peak_bytes_in_use`, and
JAX has no way to reset the peak (jax-ml/jax#8096; a `Device` has no reset method). So the
primary source, `jax_peak_bytes_in_use_since_start`, is the allocator's peak since the process
started (never lower than any earlier epoch's), and `jax_bytes_in_use_at_bounds` is the larger
of `bytes_in_use` at the epoch's start and end — a per-epoch lower bound.

Precision: JAX's `jax_default_matmul_precision` is None ("default") unless set; on GPUs default
precision runs float32 matmuls and convolutions in TF32 where the GPU has it (Ampere and later;
`jax.lax.Precision`'s docstring), only "highest"/"float32" keep full FP32.
"""

from __future__ import annotations

from typing import Any

from bench.hardware.placement import (
    jax_array_kind,
    jax_device_error,
    jax_gpu_plugins,
    placement_error,
    require,
    tf_device_error,
    tf_tensor_kind,
    torch_device_error,
    torch_tensor_kind,
)


def import_backend(backend: str) -> Any:
    """The framework module under Keras's `backend` (after `import keras` has loaded it)."""
    if backend == "tensorflow":
        import tensorflow

        return tensorflow
    if backend == "jax":
        import jax

        return jax
    import torch

    return torch


def device_error(backend: str, module: Any, kind: str, asked: str) -> str:
    """Why Keras's `backend` cannot run on a `kind` device ("" if it can)."""
    if backend == "tensorflow":
        return tf_device_error(module, kind, asked)
    if backend == "jax":
        return jax_device_error(module, kind, asked, jax_gpu_plugins())
    return torch_device_error(module, kind, asked)


def tensor_kind(backend: str, tensor: Any) -> str:
    """The device kind a tensor of Keras's `backend` lives on."""
    if backend == "tensorflow":
        return tf_tensor_kind(tensor)
    if backend == "jax":
        return jax_array_kind(tensor)
    return torch_tensor_kind(tensor)


def check_placement(keras: Any, backend: str, module: Any, kind: str, asked: str) -> None:
    """Prove that Keras on `backend` can and does place work on the trial's device (creating
    the runtime, and the GPU context, now rather than in step 1); raise `PlacementError`."""
    require(device_error(backend, module, kind, asked))
    probe = keras.ops.zeros((1,))
    keras.ops.convert_to_numpy(probe)
    found = tensor_kind(backend, probe)
    require(placement_error(found, kind, asked, f"Keras's first tensor ({backend} backend)"))


def check_weights(backend: str, model: Any, kind: str, asked: str) -> None:
    """Prove that the built model's weights live on the trial's device, as the torch runner
    checks its parameters: the first weight's backend value (`tf.Variable.device`, a JAX array's
    devices, a torch parameter's `.device`); raise `PlacementError`. A model without weights
    has nothing to check."""
    if not model.weights:
        return
    found = tensor_kind(backend, model.weights[0].value)
    require(placement_error(found, kind, asked, f"the model's weights ({backend} backend)"))


def tf_sync(tf: Any) -> Any:
    """`tf.test.experimental.sync_devices` (TensorFlow ≥ 2.12), or None on an older TF (the
    runner then fetches a value to the host). It runs a `SyncDevice` op on every logical device
    — each GPU of a MirroredStrategy, not GPU:0 alone — then waits for eager's own queue
    (`context.async_wait`); on the CPU, whose ops run synchronously, that is a no-op. It must
    be called eagerly, outside any `tf.function`, as the clock's callbacks are."""
    return getattr(getattr(tf.test, "experimental", None), "sync_devices", None)


def jax_sync(jax: Any, model: Any) -> bool:
    """Block until the training state Keras's JAX trainer holds during `fit` is computed; False
    when there is none (outside `fit`, or after `jax_state_sync`: the variables hold it)."""
    state = getattr(model, "_jax_state", None)
    if not state:
        return False
    jax.block_until_ready(state)
    return True


def device_sync(backend: str, module: Any, kind: str) -> Any:
    """A function that waits for the devices' queues, or None where a host fetch does."""
    if backend == "tensorflow":
        return tf_sync(module)
    if backend == "torch" and kind in ("cuda", "mps"):
        from bench.runners.torch_device import pick_sync

        return pick_sync(kind, module)
    return None


class TfGpuPeak:
    """Per-epoch peak of TensorFlow's allocator on the process's GPUs (`tf.config.experimental`;
    GPU:0 alone, or each MirroredStrategy replica's): the largest, a per-GPU figure."""

    source = "tf_get_memory_info_peak"

    def __init__(self, tf: Any, devices: int = 1) -> None:
        self._tf = tf
        self._names = [f"GPU:{i}" for i in range(devices)]

    def reset(self) -> None:
        for name in self._names:
            self._tf.config.experimental.reset_memory_stats(name)

    def peak(self) -> int:
        info = self._tf.config.experimental.get_memory_info
        return max(int(info(name)["peak"]) for name in self._names)


def _largest(readings: list[int | None]) -> int | None:
    """The largest reading; None if any device gave none (a figure of some GPUs is not all's)."""
    return None if not readings or None in readings else max(r for r in readings if r is not None)


class JaxPeakSinceStart:
    """JAX's allocator peak since the process started (it cannot be reset), the largest over the
    trial's GPUs (its first, or each `DataParallel` replica's)."""

    source = "jax_peak_bytes_in_use_since_start"

    def __init__(self, jax: Any, devices: int = 1) -> None:
        self._devices = jax.devices()[:devices]

    def reset(self) -> None:
        pass

    def peak(self) -> int | None:
        return _largest([(d.memory_stats() or {}).get("peak_bytes_in_use") for d in self._devices])


class JaxInUseAtBounds:
    """The larger of JAX's `bytes_in_use` at the epoch's start and end (a lower bound), the
    largest over the trial's GPUs."""

    source = "jax_bytes_in_use_at_bounds"

    def __init__(self, jax: Any, devices: int = 1) -> None:
        self._devices = jax.devices()[:devices]
        self._start: int | None = None

    def _read(self) -> int | None:
        return _largest([(d.memory_stats() or {}).get("bytes_in_use") for d in self._devices])

    def reset(self) -> None:
        self._start = self._read()

    def peak(self) -> int | None:
        readings = [r for r in (self._start, self._read()) if r is not None]
        return max(readings) if readings else None


def device_peaks(backend: str, module: Any, kind: str, devices: int = 1) -> list[Any]:
    """The device-memory probes of Keras on `backend` for a trial's device kind, over its
    `devices` GPUs (a data-parallel trial's replicas): each the largest per-GPU figure."""
    if kind == "cpu":
        return []
    if backend == "tensorflow":
        return [TfGpuPeak(module, devices)]
    if backend == "jax":
        return [JaxPeakSinceStart(module, devices), JaxInUseAtBounds(module, devices)]
    from bench.runners.torch_device import device_peaks as torch_peaks

    return torch_peaks(module, kind, module.device("cuda:0" if kind == "cuda" else kind))


def backend_settings(backend: str, module: Any, kind: str) -> dict[str, Any]:
    """The threads and precision flags in effect under Keras, named as the torch runner and
    `bench.hardware.mfu` name them."""
    if backend == "tensorflow":
        tf = module
        return {
            "tf.intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf.inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "tf.tensor_float_32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "tf.gpus": len(tf.config.list_physical_devices("GPU")),
        }
    if backend == "jax":
        jax = module
        device = jax.devices()[0]
        return {
            "jax.default_matmul_precision": jax.config.jax_default_matmul_precision,
            "jax.platform": device.platform,
            "jax.device_kind": device.device_kind,
        }
    from bench.runners.torch_device import device_settings
    from bench.runners.torch_precision import precision_settings

    torch = module
    device = torch.device("cuda:0" if kind == "cuda" else kind)
    return {
        "torch.num_threads": torch.get_num_threads(),
        **precision_settings(torch),
        **device_settings(torch, kind, device),
    }
