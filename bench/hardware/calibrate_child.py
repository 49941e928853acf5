"""`bench calibrate`'s child: `python -m bench.hardware.calibrate_child SPEC.json RESULT.json`.

Measures square matmul throughput in one framework on one device (the parent chose the device
through `CUDA_VISIBLE_DEVICES`, so a GPU is always `cuda:0` / `/GPU:0` here). For each dtype and
size n: at least `warmup` matmuls and `warmup_s` seconds of them, each synced (CPU and GPU
clocks take a moment to ramp up); then the batch size `inner` grows (at least doubling)
until a batch of `inner` matmuls lasts `min_batch_s`, so launch and sync latency are amortised
(these sizing batches are further warm-up); then `repeats` batches are timed, each from before its
first launch to after a device sync (`torch.cuda.synchronize`; for TensorFlow
`tf.test.experimental.sync_devices`, present in TF ≥ 2.13). FLOPs per matmul = 2·n³.

dtypes: `fp32` (TF32 off: torch `set_float32_matmul_precision("highest")`, TensorFlow
`enable_tensor_float_32_execution(False)` — TensorFlow's default is on), `tf32` (on), `bf16`
(bfloat16 inputs). Threads are set as the harness sets them for a trial. A dtype/size that fails
(unsupported, out of memory) gives a row with status `failed`; the others still run.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

MAX_INNER = 100_000


def measure(
    matmul: Callable[[], object],
    sync: Callable[[], object],
    n: int,
    warmup: int,
    repeats: int,
    min_batch_s: float,
    warmup_s: float = 0.0,
    now: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Time `matmul` (one n×n by n×n product); FLOP/s of the best and the median batch."""

    def batch_s(inner: int) -> float:
        t0 = now()
        for _ in range(inner):
            matmul()
        sync()
        return max(now() - t0, 1e-12)

    started, done = now(), 0
    while done < warmup or now() - started < warmup_s:  # clocks ramp up; caches, autotune fill
        matmul()
        sync()
        done += 1
    inner = 1
    while (elapsed := batch_s(inner)) < min_batch_s and inner < MAX_INNER:
        inner = min(MAX_INNER, max(2 * inner, math.ceil(inner * min_batch_s / elapsed)))
    flops = 2.0 * n**3 * inner
    rates = [flops / batch_s(inner) for _ in range(repeats)]
    best, median = max(rates), statistics.median(rates)
    return {
        "inner": inner,
        "best_flops_per_s": best,
        "median_flops_per_s": median,
        "best_tflops": best / 1e12,
        "median_tflops": median / 1e12,
    }


def _torch_cases(spec: dict[str, Any]) -> tuple[str, Callable[[str, int], tuple]]:
    import torch

    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(spec["threads"])
    cuda = spec["device_kind"] == "cuda"
    device = torch.device("cuda:0" if cuda else "cpu")
    sync: Callable[[], object] = torch.cuda.synchronize if cuda else (lambda: None)

    def case(dtype: str, n: int) -> tuple:
        torch.set_float32_matmul_precision("high" if dtype == "tf32" else "highest")
        kind = torch.bfloat16 if dtype == "bf16" else torch.float32
        a = torch.randn(n, n, device=device, dtype=kind)
        b = torch.randn(n, n, device=device, dtype=kind)
        c = torch.empty_like(a)
        flags = {"float32_matmul_precision": torch.get_float32_matmul_precision()}
        return (lambda: torch.matmul(a, b, out=c)), sync, flags

    return torch.__version__, case


def _tf_cases(spec: dict[str, Any]) -> tuple[str, Callable[[str, int], tuple]]:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    name = "/GPU:0" if spec["device_kind"] == "cuda" else "/CPU:0"
    last: list[Any] = [None]
    sync_devices = getattr(getattr(tf.test, "experimental", None), "sync_devices", None)

    def sync() -> None:
        if sync_devices is not None:
            sync_devices()
        elif last[0] is not None:  # older TF: fetching a value waits for the op that made it
            last[0][0, 0].numpy()

    def case(dtype: str, n: int) -> tuple:
        tf.config.experimental.enable_tensor_float_32_execution(dtype == "tf32")
        with tf.device(name):
            a = tf.random.normal((n, n), dtype=tf.float32)
            b = tf.random.normal((n, n), dtype=tf.float32)
            if dtype == "bf16":
                a, b = tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)

        def matmul() -> None:
            with tf.device(name):
                last[0] = tf.linalg.matmul(a, b)

        flags = {
            "tensor_float_32_execution": tf.config.experimental.tensor_float_32_execution_enabled()
        }
        return matmul, sync, flags

    try:
        keras = metadata.version("keras")
    except metadata.PackageNotFoundError:
        keras = "?"
    return f"{keras} (tensorflow {tf.__version__})", case


BACKENDS = {"torch": ("torch", _torch_cases), "keras": ("tensorflow", _tf_cases)}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Every (dtype, size) row for the spec's framework and device."""
    backend, setup = BACKENDS[spec["framework"]]
    version, case = setup(spec)
    rows = []
    for dtype in spec["dtypes"]:
        for n in spec["sizes"]:
            row: dict[str, Any] = {"dtype": dtype, "n": n, "status": "ok", "error": ""}
            try:
                matmul, sync, flags = case(dtype, n)
                row["flags"] = flags
                timing = (spec["warmup"], spec["repeats"], spec["min_batch_s"], spec["warmup_s"])
                row.update(measure(matmul, sync, n, *timing))
            except Exception as exc:  # unsupported dtype, out of memory: record, go on
                traceback.print_exc()
                row.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            rows.append(row)
    return {"backend": backend, "framework_version": version, "rows": rows}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
