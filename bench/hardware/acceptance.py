"""The GPU acceptance checks of `bench doctor --run`: verdicts as pure functions of measurements,
and the JSON record of what was verified (`docs/verified-on.md` turns it into table rows).

Four checks per GPU and framework that passed its probe (the measurements come from
`bench.runners.acceptance_child` and from real tiny trials, `bench.cli.doctor_accept`):

- sync truth: large fp32 matmuls are queued without a sync, then the framework's sync as
  bench's runners use it is timed. A sync that waits for the GPU takes about as long as the
  same work timed with a sync after every matmul, or ended by reading a value of the last
  product to the host; pass when it takes at least `SYNC_MIN_SHARE` of the longer of the two.
- TF32 truth (compute capability ≥ 8.0, as NVML reports it; skipped where unknown): bench's
  fp32 switch gives an fp32 matmul (relative error against float64 ≤ `FP32_MAX_ERROR`, about
  1e-6) and its tf32 switch a TF32 one (error ≥ `TF32_MIN_ERROR`, about 1e-3: TF32 keeps 10
  mantissa bits). TF32 at under `TF32_MIN_SPEEDUP` × the fp32 rate is a warning, not a
  failure: data-centre GPUs (A100, H100) run TF32 Tensor Cores 3-8× faster than FP32, GeForce
  cards at about FP32's rate.
- NVML truth: NVML finds the tiny trial's process memory, and its energy counter grows.
- warm cache truth: a second compile-mode trial on the first one's cache folder has a first
  step at most `CACHE_MAX_RATIO` of the first's.

Statuses: pass, fail, warn (printed as INFO: doctor does not fail on it) and skipped.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.hardware.precision import AMPERE

PASS, FAIL, WARN, SKIPPED = "pass", "fail", "warn", "skipped"
STATUSES = (PASS, FAIL, WARN, SKIPPED)
CHECKS = ("sync truth", "TF32 truth", "NVML truth", "warm cache truth")
SCHEMA = "bench-doctor-acceptance/1"
SYNC_MIN_SHARE = 0.5
FP32_MAX_ERROR = 1e-5
TF32_MIN_ERROR = 1e-4
TF32_MIN_SPEEDUP = 3.0
CACHE_MAX_RATIO = 0.5
#: The sync each framework's trials use, as the messages name it.
SYNC_NAMES = {
    "torch": "torch.cuda.synchronize()",
    "jax": "jax.block_until_ready()",
    "tensorflow": "tf.test.experimental.sync_devices()",
}


@dataclass(frozen=True)
class Result:
    """One acceptance check on one framework and device, with the numbers it was judged on."""

    name: str
    framework: str
    device: str
    status: str
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)


def skipped(name: str, why: str, framework: str = "", device: str = "") -> Result:
    return Result(name, framework, device, SKIPPED, f"skipped: {why}")


def failed(name: str, framework: str, device: str, error: str) -> Result:
    """A check whose measurement could not be made (the child or the trial failed)."""
    return Result(name, framework, device, FAIL, f"could not measure: {error}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def sync_verdict(framework: str, device: str, m: dict[str, Any]) -> Result:
    """Judge `m`: `matmuls` n×n matmuls took `per_op_s` synced one by one and `fetched_s`
    queued and ended by a host read; queued again, `enqueue_s` to launch and `sync_s` to sync.
    The work's time is the longer of the first two (a sync that does not wait makes the
    one-by-one time short too; the host read cannot be early)."""
    work = max(m["per_op_s"], m.get("fetched_s") or 0.0)
    share = m["sync_s"] / work if work > 0 else 0.0
    numbers = {**m, "share": round(share, 3)}
    what = f"{m['matmuls']} queued {m['n']}x{m['n']} matmuls"
    sync = SYNC_NAMES.get(framework, "the sync")
    if share >= SYNC_MIN_SHARE:
        detail = f"{sync} waited {_ms(m['sync_s'])} for {what} that take {_ms(work)} ({share:.0%})"
        return Result("sync truth", framework, device, PASS, detail, numbers)
    detail = (
        f"{sync} returned after {_ms(m['sync_s'])}, but {what} take {_ms(work)} "
        f"({share:.0%} < {SYNC_MIN_SHARE:.0%}): it does not wait for the GPU, so every GPU "
        "time bench records would be too short"
    )
    return Result("sync truth", framework, device, FAIL, detail, numbers)


def tf32_verdict(
    framework: str, device: str, m: dict[str, Any], capability: tuple[int, int] | None
) -> Result:
    """Judge `m`: `fp32_error`/`tf32_error` (relative, against float64) and `fp32_tflops`/
    `tf32_tflops` under bench's fp32 and tf32 switches."""
    if capability is None:
        why = "compute capability unknown (NVML does not know this GPU: not an NVIDIA one?)"
        return skipped("TF32 truth", why, framework, device)
    if tuple(capability) < AMPERE:
        why = f"TF32 needs compute capability 8.0; this GPU has {capability[0]}.{capability[1]}"
        return skipped("TF32 truth", why, framework, device)
    speedup = m["tf32_tflops"] / m["fp32_tflops"] if m["fp32_tflops"] > 0 else 0.0
    numbers = {**m, "speedup": round(speedup, 2)}
    errors = f"error {m['fp32_error']:.1e} (fp32) and {m['tf32_error']:.1e} (tf32) vs float64"
    problems = []
    if m["fp32_error"] > FP32_MAX_ERROR:
        problems.append(
            f"fp32 is not strict: its matmul error {m['fp32_error']:.1e} against float64 is "
            "TF32's (expected about 1e-6): bench's fp32 switch left TF32 on"
        )
    if m["tf32_error"] < TF32_MIN_ERROR:
        problems.append(
            f"TF32 not active: the tf32 matmul error {m['tf32_error']:.1e} against float64 is "
            "that of strict float32 (expected about 1e-3): bench's tf32 switch did not turn TF32 on"
        )
    if problems:
        return Result("TF32 truth", framework, device, FAIL, "; ".join(problems), numbers)
    speed = f"tf32 {m['tf32_tflops']:.1f} vs fp32 {m['fp32_tflops']:.1f} TFLOP/s ({speedup:.1f}x)"
    if speedup < TF32_MIN_SPEEDUP:
        detail = (
            f"{errors}; but {speed}, under {TF32_MIN_SPEEDUP:g}x: expected on A100/H100-class "
            "GPUs, not on GeForce cards (TF32 at about the FP32 rate)"
        )
        return Result("TF32 truth", framework, device, WARN, detail, numbers)
    return Result("TF32 truth", framework, device, PASS, f"{errors}; {speed}", numbers)


def nvml_verdict(
    framework: str,
    device: str,
    process_bytes: list[int | None],
    used_bytes: list[int | None],
    energy_j: list[float | None],
) -> Result:
    """Judge a tiny trial's NVML readings: its samples' process and device memory, and the GPU
    energy of each epoch."""
    process = max((b for b in process_bytes if b), default=0)
    used = max((b for b in used_bytes if b), default=0)
    energy = sum(e for e in energy_j if e)
    numbers = {"process_memory_bytes": process, "device_memory_bytes": used, "energy_j": energy}
    problems = []
    if not process:
        problems.append(
            "NVML found no memory for the trial's process"
            + (
                f" though the GPU shows {used / 2**20:.0f} MiB used (a container with its own "
                "PID namespace hides the process from NVML)"
                if used
                else " and no device memory in use"
            )
        )
    if not energy:
        problems.append("NVML's energy counter did not increase over the trial")
    if problems:
        return Result("NVML truth", framework, device, FAIL, "; ".join(problems), numbers)
    detail = (
        f"process memory {process / 2**20:.0f} MiB (device {used / 2**20:.0f} MiB), "
        f"energy {energy:.1f} J over the trial"
    )
    return Result("NVML truth", framework, device, PASS, detail, numbers)


def cache_verdict(
    framework: str, device: str, cold_first_step_s: float | None, warm_first_step_s: float | None
) -> Result:
    """Judge two compile-mode trials on one cache folder by their first steps."""
    numbers = {"cold_first_step_s": cold_first_step_s, "warm_first_step_s": warm_first_step_s}
    if not cold_first_step_s or warm_first_step_s is None:
        why = "a trial recorded no first step"
        return Result("warm cache truth", framework, device, FAIL, why, numbers)
    ratio = warm_first_step_s / cold_first_step_s
    numbers["ratio"] = round(ratio, 3)
    steps = f"first step {cold_first_step_s:.2f} s cold, {warm_first_step_s:.2f} s warm"
    if ratio <= CACHE_MAX_RATIO:
        detail = f"{steps} ({ratio:.0%})"
        return Result("warm cache truth", framework, device, PASS, detail, numbers)
    detail = (
        f"{steps} ({ratio:.0%} > {CACHE_MAX_RATIO:.0%}): the warm cache folder did not spare "
        "the compilation"
    )
    return Result("warm cache truth", framework, device, FAIL, detail, numbers)


def record(
    gpus: list[dict[str, Any]],
    versions: dict[str, str],
    checks: list[dict[str, Any]],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON record of one `doctor --run`: machine, GPUs, framework versions, date, checks."""
    return {
        "schema": SCHEMA,
        "date": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "host": socket.gethostname(),
            "system": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(),
        },
        "gpus": gpus,
        "versions": versions,
        "checks": checks,
    }


def result_entry(result: Result) -> dict[str, Any]:
    return asdict(result)


def default_json_path(now: datetime | None = None) -> Path:
    """Where `doctor --run` writes its record without `--json-out`: the temporary folder."""
    import tempfile

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"bench-doctor-{stamp}.json"


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def problems(data: Any) -> list[str]:
    """What is wrong with a record read back (empty when it follows `SCHEMA`)."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return [f"not a {SCHEMA} record (its 'schema' key)"]
    found = []
    for key, kind in (("date", str), ("machine", dict), ("gpus", list), ("versions", dict)):
        if not isinstance(data.get(key), kind):
            found.append(f"'{key}' is missing or not a {kind.__name__}")
    checks = data.get("checks")
    if not isinstance(checks, list):
        return [*found, "'checks' is missing or not a list"]
    for n, check in enumerate(checks):
        if not isinstance(check, dict) or not {"name", "status", "device"} <= set(check):
            found.append(f"check {n + 1} lacks name, status or device")
        elif check["status"] not in (*STATUSES, "ok", "info"):
            found.append(f"check {n + 1} has an unknown status {check['status']!r}")
    return found
