"""Keras data-parallel runner: one process, the model replicated over N devices, `model.fit`.

Keras trains data-parallel inside one process, so a data-parallel Keras trial is one child (no
ranks): its N replicas are devices of that process. What it adds to the `keras` runner:

- TensorFlow backend: `tf.distribute.MirroredStrategy` over N devices — N GPUs (the child sees
  exactly the trial's N GPUs, by UUID; all-reduce by TensorFlow's default for GPUs, NCCL) or,
  on the CPU, N logical CPU devices made with `tf.config.set_logical_device_configuration`
  before TensorFlow's runtime starts (they share the trial's thread pools). The model is built
  and compiled in `strategy.scope()`, so its variables are mirrored.
- JAX backend: `keras.distribution.DataParallel` over `jax.devices()`, set with
  `keras.distribution.set_distribution` before the model is built; on the CPU the child gets
  `XLA_FLAGS=--xla_force_host_platform_device_count=N` (set by the launcher), so JAX has N host
  devices.

`dist_init` times creating the strategy or distribution (replica set-up); the replicas'
first collective (the gradient all-reduce) happens in `first_step`. `fit` gets the global batch,
batch size × N, over N × `samples` samples: the same steps per epoch as the single trial, each
replica training `samples` samples. Per-replica timing is not observable here — the replicas
are not processes with clocks of their own, and Keras returns from a step only when all of them
are done — so a Keras data-parallel trial has no ranks.csv rows and no straggler wait.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from bench.runners import keras_backends as backends
from bench.runners.keras import KerasRunner

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial


def logical_cpus(tf: Any, n: int) -> list[str]:
    """Split the host CPU into `n` logical devices (before TensorFlow's runtime starts)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )
    return [f"/cpu:{i}" for i in range(n)]


def mirrored(tf: Any, device_kind: str, n: int) -> Any:
    """MirroredStrategy over the trial's N GPUs or N logical CPUs."""
    kind = "gpu" if device_kind == "cuda" else "cpu"
    return tf.distribute.MirroredStrategy(devices=[f"/{kind}:{i}" for i in range(n)])


def jax_data_parallel(keras: Any, jax: Any, n: int) -> Any:
    """keras.distribution.DataParallel over the first N JAX devices, set for the process."""
    devices = jax.devices()
    if len(devices) < n:
        raise RuntimeError(f"JAX sees {len(devices)} devices, the trial needs {n}: {devices}")
    distribution = keras.distribution.DataParallel(devices=devices[:n])
    keras.distribution.set_distribution(distribution)
    return distribution


class KerasDataRunner(KerasRunner):
    def __init__(self, trial: Trial) -> None:
        super().__init__(trial)
        self.strategy: Any = None
        self.distribution: Any = None

    def init_device(self) -> None:
        if self.tf is not None and self.trial.device_kind == "cpu":
            logical_cpus(self.tf, self.trial.world_size)
        super().init_device()

    def init_distributed(self) -> None:
        trial = self.trial
        if self.tf is not None:
            self.strategy = mirrored(self.tf, trial.device_kind, trial.world_size)
        else:
            self.distribution = jax_data_parallel(self.keras, self.framework, trial.world_size)

    def _scope(self) -> Any:
        return self.strategy.scope() if self.strategy is not None else nullcontext()

    def build(self) -> tuple[int, int]:
        with self._scope():
            return super().build()

    def compile(self) -> None:
        with self._scope():
            super().compile()

    def fit_batch_size(self) -> int:
        return self.trial.global_batch_size

    def device_peaks(self) -> list[Any]:
        """Every replica's GPU: the largest per-GPU peak, as torch's data-parallel trials record
        their ranks' largest."""
        trial = self.trial
        return backends.device_peaks(
            trial.backend, self.framework, trial.device_kind, trial.world_size
        )

    def fit(self, clock: TrainingClock) -> None:
        with self._scope():
            super().fit(clock)

    def settings(self) -> dict[str, str]:
        if self.strategy is not None:
            how = "tf.distribute.MirroredStrategy"
            replicas = self.strategy.num_replicas_in_sync
            devices = ",".join(self.strategy.extended.worker_devices)
        else:
            how = "keras.distribution.DataParallel"
            devices = ",".join(str(d) for d in self.distribution.device_mesh.devices.flatten())
            replicas = self.distribution.device_mesh.devices.size
        return super().settings() | {
            "keras.distribution": how,
            "keras.replicas": str(replicas),
            "keras.replica_devices": devices,
            "keras.global_batch_size": str(self.fit_batch_size()),
        }


def make(trial: Trial) -> KerasDataRunner:
    return KerasDataRunner(trial)
