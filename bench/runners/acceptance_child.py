"""`bench doctor --run`'s acceptance child: `python -m bench.runners.acceptance_child SPEC OUT`.

Imports one framework (`torch`, `jax` or `tensorflow`; the parent chose the GPU through
`CUDA_VISIBLE_DEVICES`, so it is device 0 here) and measures what `bench.hardware.acceptance`
judges, writing the numbers (or `{"error": ...}`) to OUT as JSON:

- sync: `matmuls` n×n fp32 matmuls, each followed by the sync (`per_op_s`); the same matmuls
  queued and ended by reading one value of the last product to the host (`fetched_s`: true
  even when the sync is not); then queued (`enqueue_s`) and ended by one sync (`sync_s`). The
  sync is the one bench's trials use: torch `bench.runners.torch_device.pick_sync`
  (`torch.cuda.synchronize`); JAX `bench.runners.keras_backends.jax_sync`,
  `jax.block_until_ready` on the pending results as
  the runner does on Keras's `_jax_state`; TensorFlow `tf.test.experimental.sync_devices()`
  (TF ≥ 2.13), as `bench calibrate` uses it.
- tf32: a matmul of `error_n`² float32 inputs under bench's own fp32 and tf32 switches (torch
  `bench.runners.torch_precision.apply_flags`; JAX and TensorFlow
  `bench.runners.keras_precision.apply`: `jax_default_matmul_precision`,
  `enable_tensor_float_32_execution`), its relative Frobenius error against the float64
  product of the same inputs, and each mode's throughput at n (`calibrate_child.measure`).

The frameworks are reached through `Ops` (`torch_ops`, `jax_ops`, `tf_ops`, each taking the
module), so that tests hand in a fake framework and a fake clock. `kind` "cpu" runs the same
code on the CPU (tests only: a CPU has no queue to wait for and no TF32).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from bench.hardware.calibrate_child import measure
from bench.hardware.placement import (
    jax_device_error,
    jax_gpu_plugins,
    placement_error,
    require,
    tf_device_error,
)

#: Keras's part of `keras_precision.apply` (the dtype policy) is not what is checked here.
NO_KERAS = SimpleNamespace(config=SimpleNamespace(set_dtype_policy=lambda name: None))


@dataclass
class Ops:
    """One framework on one device: upload, matmul, wait, download, the TF32 switch."""

    version: str
    put: Callable[[np.ndarray], Any]
    matmul: Callable[[Any, Any], Any]
    sync: Callable[[list[Any]], None]  # waits for the work that made these results
    fetch: Callable[[Any], np.ndarray]
    set_tf32: Callable[[bool], None]


def torch_ops(torch: Any, kind: str = "cuda") -> Ops:
    from bench.hardware.placement import torch_device_error
    from bench.runners.torch_device import pick_sync
    from bench.runners.torch_precision import apply_flags

    require(torch_device_error(torch, kind, "cuda:0" if kind == "cuda" else kind))
    device = torch.device("cuda:0" if kind == "cuda" else "cpu")
    wait = pick_sync(kind, torch)
    return Ops(
        version=str(torch.__version__),
        put=lambda x: torch.from_numpy(x).to(device),
        matmul=torch.matmul,
        sync=lambda results: wait(),
        fetch=lambda t: t.cpu().numpy(),
        set_tf32=lambda on: apply_flags(torch, "tf32" if on else "fp32", "default"),
    )


def jax_ops(jax: Any, kind: str = "cuda") -> Ops:
    from bench.runners.keras_backends import jax_sync
    from bench.runners.keras_precision import apply

    if kind == "cuda":
        require(jax_device_error(jax, kind, "cuda:0", jax_gpu_plugins()))
    device = jax.devices("gpu" if kind == "cuda" else "cpu")[0]
    jitted: list[Any] = [None]

    def set_tf32(on: bool) -> None:
        apply(NO_KERAS, "jax", jax, "tf32" if on else "fp32", "default")
        jitted[0] = jax.jit(lambda a, b: a @ b)  # traced afresh under the new precision

    set_tf32(False)
    return Ops(
        version=str(jax.__version__),
        put=lambda x: jax.device_put(x, device),
        matmul=lambda a, b: jitted[0](a, b),
        sync=lambda results: jax_sync(jax, SimpleNamespace(_jax_state=results)) and None,
        fetch=np.asarray,
        set_tf32=set_tf32,
    )


def tf_ops(tf: Any, kind: str = "cuda") -> Ops:
    from bench.hardware.placement import tf_tensor_kind
    from bench.runners.keras_precision import apply

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    require(tf_device_error(tf, kind, "cuda:0" if kind == "cuda" else kind))
    name = "/GPU:0" if kind == "cuda" else "/CPU:0"

    def put(x: np.ndarray) -> Any:
        with tf.device(name):
            tensor = tf.identity(tf.constant(x))
        require(placement_error(tf_tensor_kind(tensor), kind, name, "the matmul's operands"))
        return tensor

    def matmul(a: Any, b: Any) -> Any:
        with tf.device(name):
            return tf.linalg.matmul(a, b)

    return Ops(
        version=str(tf.__version__),
        put=put,
        matmul=matmul,
        sync=lambda results: tf.test.experimental.sync_devices(),
        fetch=lambda t: t.numpy(),
        set_tf32=lambda on: apply(NO_KERAS, "tensorflow", tf, "tf32" if on else "fp32", "default"),
    )


def sync_truth(
    ops: Ops, n: int, matmuls: int, now: Callable[[], float] = time.perf_counter
) -> dict[str, Any]:
    """Time `matmuls` fp32 matmuls synced one by one; queued and ended by reading one value of
    the last product to the host (which cannot return before it exists, whatever the sync
    does); queued again and ended by one sync."""
    ops.set_tf32(False)
    rng = np.random.default_rng(1)
    a, b = (ops.put(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    for _ in range(3):  # warm-up: kernels chosen, clocks up
        ops.sync([ops.matmul(a, b)])
    began = now()
    for _ in range(matmuls):
        ops.sync([ops.matmul(a, b)])
    per_op = now() - began
    began = now()
    ops.fetch([ops.matmul(a, b) for _ in range(matmuls)][-1][:1, :1])
    fetched = now() - began
    began = now()
    results = [ops.matmul(a, b) for _ in range(matmuls)]
    queued = now()
    ops.sync(results)
    done = now()
    return {"matmuls": matmuls, "n": n, "per_op_s": round(per_op, 6),
            "fetched_s": round(fetched, 6), "enqueue_s": round(queued - began, 6),
            "sync_s": round(done - queued, 6)}  # fmt: skip


def relative_error(found: np.ndarray, exact: np.ndarray) -> float:
    """‖found − exact‖ / ‖exact‖ (Frobenius), in float64."""
    return float(np.linalg.norm(found.astype(np.float64) - exact) / np.linalg.norm(exact))


def tf32_truth(ops: Ops, error_n: int, n: int, min_batch_s: float = 0.1) -> dict[str, Any]:
    """Each mode's matmul error against float64 (at `error_n`) and throughput (at `n`)."""
    rng = np.random.default_rng(2)
    x, y = (rng.standard_normal((error_n, error_n), dtype=np.float32) for _ in range(2))
    exact = x.astype(np.float64) @ y.astype(np.float64)
    big = [ops.put(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2)]
    found: dict[str, Any] = {"error_n": error_n, "n": n}
    for mode in ("fp32", "tf32"):
        ops.set_tf32(mode == "tf32")
        product = ops.fetch(ops.matmul(ops.put(x), ops.put(y)))
        found[f"{mode}_error"] = relative_error(product, exact)
        last: list[Any] = []

        def one(last: list[Any] = last) -> None:
            last[:] = [ops.matmul(*big)]

        rate = measure(one, lambda last=last: ops.sync(last), n, 3, 3, min_batch_s)
        found[f"{mode}_tflops"] = round(rate["best_tflops"], 3)
    ops.set_tf32(False)
    return found


def make_ops(framework: str, kind: str) -> Ops:
    """Import `framework` and wrap it."""
    if framework == "torch":
        import torch

        return torch_ops(torch, kind)
    if framework == "jax":
        import jax

        return jax_ops(jax, kind)
    import tensorflow as tf

    return tf_ops(tf, kind)


def run(spec: dict[str, Any], ops: Ops) -> dict[str, Any]:
    """Both measurements; one that fails is recorded as its error, the other still runs."""
    result: dict[str, Any] = {"version": ops.version, "error": ""}
    for key, task in (
        ("sync", lambda: sync_truth(ops, spec["n"], spec["matmuls"])),
        ("tf32", lambda: tf32_truth(ops, spec["error_n"], spec["n"])),
    ):
        try:
            result[key] = task()
        except Exception as exc:  # out of memory, an unsupported op: recorded, not raised
            traceback.print_exc()
            result[key] = {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}
    return result


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        result = run(spec, make_ops(spec["framework"], spec.get("kind", "cuda")))
    except BaseException as exc:  # no framework, no GPU: reported to the parent
        traceback.print_exc()
        result = {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
