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
and `fp16` (bfloat16 / float16 inputs: what autocast and Keras's mixed policies run). Threads
are set as the harness sets them for a trial. A dtype/size that fails (unsupported, out of
memory) gives a row with status `failed`; the others still run.

Placement (`bench.hardware.placement`): before any timing the child proves that the framework can
use the device (not a CPU-only build, a GPU visible, the driver working) and that a first tensor
lands there; each case checks its operands too (TensorFlow's soft placement would quietly run
"/GPU:0" matmuls on the CPU). If the framework cannot use the device, no row is measured: the
child writes `{"error": "PlacementError: ..."}` and exits 1, and the parent records every row of
that framework and device as `failed` with that error.
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

from bench.hardware.placement import (
    PlacementError,
    placement_error,
    require,
    tf_device_error,
    tf_tensor_kind,
    torch_device_error,
    torch_tensor_kind,
)

MAX_INNER = 100_000


def _asked(spec: dict[str, Any]) -> str:
    """The device as the user named it (`cuda:1`), for messages; the child sees it as 0."""
    return str(spec.get("device") or spec["device_kind"])


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
    kind, asked = spec["device_kind"], _asked(spec)
    require(torch_device_error(torch, kind, asked))
    device = torch.device({"cuda": "cuda:0", "mps": "mps"}.get(kind, "cpu"))
    syncs = {"cuda": torch.cuda.synchronize, "mps": torch.mps.synchronize}
    sync: Callable[[], object] = syncs.get(kind, lambda: None)
    probe = torch.zeros(1, device=device)
    require(placement_error(torch_tensor_kind(probe), kind, asked, "torch's first tensor"))

    def case(dtype: str, n: int) -> tuple:
        torch.set_float32_matmul_precision("high" if dtype == "tf32" else "highest")
        dt = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dtype, torch.float32)
        a = torch.randn(n, n, device=device, dtype=dt)
        b = torch.randn(n, n, device=device, dtype=dt)
        c = torch.empty_like(a)
        require(placement_error(torch_tensor_kind(c), kind, asked, "the matmul's operands"))
        flags = {"float32_matmul_precision": torch.get_float32_matmul_precision()}
        return (lambda: torch.matmul(a, b, out=c)), sync, flags

    return torch.__version__, case


def _tf_cases(spec: dict[str, Any]) -> tuple[str, Callable[[str, int], tuple]]:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    kind, asked = spec["device_kind"], _asked(spec)
    require(tf_device_error(tf, kind, asked))
    name = "/GPU:0" if kind == "cuda" else "/CPU:0"
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
            low = {"bf16": tf.bfloat16, "fp16": tf.float16}.get(dtype)
            if low is not None:
                a, b = tf.cast(a, low), tf.cast(b, low)
        # Soft placement would run "/GPU:0" ops on the CPU without a word: check where they are.
        require(placement_error(tf_tensor_kind(a), kind, asked, "the matmul's operands"))

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
    """Write every row to RESULT.json (0); or, when the framework cannot run on the device at
    all, `{"error": why}` (1): no row is measured on a device the framework did not use."""
    spec = json.loads(Path(argv[0]).read_text())
    try:
        result = run(spec)
    except PlacementError as exc:
        message = f"PlacementError: {exc}"
        print(message, file=sys.stderr)
        Path(argv[1]).write_text(json.dumps({"error": message}))
        return 1
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
