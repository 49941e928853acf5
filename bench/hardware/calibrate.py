"""`python -m bench calibrate`: each device's achievable matmul throughput, per framework.

For every framework × device a fresh child (`bench.hardware.calibrate_child`) times square matmuls —
FP32 everywhere, TF32, BF16 and FP16 too on CUDA — so the parent never imports a framework. The
result is one JSON document: the host fingerprint, the settings, and one row per framework,
device, dtype and size with the best and median FLOP/s. It is written to
`<out>/<host>-<YYYYMMDD-HHMMSS>.json` (UTC) and copied to `<out>/latest.json` (default `out`:
`results/calibration`) and to this user's per-host folder (`host_dir()`, platformdirs), so that
a run with another `--out` still finds it; `load_latest` finds the newest document for a host, and
`bench.hardware.mfu.calibrated_peak` picks a trial's peak from it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from bench.hardware.device_env import device_env
from bench.hardware.devices import Device, default_threads
from bench.hardware.precision import PRECISIONS

SCHEMA_VERSION = 1
FRAMEWORKS = ("torch", "keras")
REQUIRED_MODULES = {"torch": ("torch",), "keras": ("keras", "tensorflow")}
DTYPES = PRECISIONS  # a matmul is measured in each precision a trial can run
DEFAULT_SIZES = {"cpu": (1024, 2048), "cuda": (4096, 8192)}
DEFAULT_DTYPES = {"cpu": ("fp32",), "cuda": DTYPES}
DEFAULT_OUT = Path("results") / "calibration"
LOG_TAIL = 400  # characters of a failed child's output kept in its rows


def _missing(framework: str) -> str:
    absent = [m for m in REQUIRED_MODULES[framework] if importlib.util.find_spec(m) is None]
    return f"{framework} is not installed (missing {', '.join(absent)})" if absent else ""


def _env(device: Device, threads: int) -> dict[str, str]:
    env = device_env(device.kind, device.cuda_visible_id, threads)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"})
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _run_child(spec: dict[str, Any], device: Device, timeout_s: float) -> tuple[dict | None, str]:
    """Run one child; (its result or None, an error message with the output's tail)."""
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec))
        cmd = [
            sys.executable,
            "-m",
            "bench.hardware.calibrate_child",
            str(spec_path),
            str(result_path),
        ]
        proc = subprocess.Popen(
            cmd,
            env=_env(device, spec["threads"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return None, f"timed out after {timeout_s:g} s"
        except BaseException:  # Ctrl-C: the child is in its own session and would live on
            _kill(proc)
            raise
        tail = " ".join(out.decode("utf-8", errors="replace").split())[-LOG_TAIL:]
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError):  # not written, or cut short
            result = None
        if result is not None and result.get("error"):  # e.g. the framework can't use the GPU
            return None, str(result["error"])
        if proc.returncode != 0 or result is None:
            return None, f"child exited with code {proc.returncode}: {tail}"
        return result, ""


@dataclass(frozen=True, slots=True)
class Settings:
    """How each matmul is timed (see `bench.hardware.calibrate_child`). `threads`: the CPU thread
    counts, as `run`'s `--threads` (one count or several; None: the physical cores) — the CPU is
    measured at each, a GPU once, with the largest (as a sweep's GPU trials use)."""

    repeats: int = 10
    warmup: int = 3
    warmup_s: float = 1.0
    min_batch_s: float = 0.05
    threads: int | tuple[int, ...] | None = None
    timeout_s: float = 900.0

    def __post_init__(self) -> None:
        least = {"repeats": 1, "warmup": 0, "warmup_s": 0, "min_batch_s": 0, "timeout_s": 1}
        for name, low in least.items():
            value = getattr(self, name)
            if value < low:
                raise UsageError(f"calibrate: {name} must be >= {low}, got {value}")
        counts = self.threads if isinstance(self.threads, tuple) else (self.threads,)
        if self.threads is not None and (not counts or min(counts) < 1):
            raise UsageError(f"calibrate: threads must be >= 1, got {self.threads}")

    def thread_counts(self) -> tuple[int, ...]:
        """The thread counts to measure the CPU at (the physical cores by default)."""
        if self.threads is None:
            return (default_threads(),)
        return self.threads if isinstance(self.threads, tuple) else (self.threads,)


def _validate(frameworks: list[str], sizes: list[int] | None, dtypes: list[str] | None) -> None:
    choices = ", ".join(FRAMEWORKS)
    if not frameworks:
        raise UsageError(f"calibrate: no framework given; choose from: {choices}")
    for framework in frameworks:
        if framework not in FRAMEWORKS:
            raise UsageError(f'calibrate: unknown framework "{framework}"; choose from: {choices}')
    if sizes is not None and (not sizes or any(int(n) < 1 for n in sizes)):
        raise UsageError(f"calibrate: sizes must be integers >= 1, got {sizes}")
    for dtype in dtypes or ():
        if dtype not in DTYPES:
            raise UsageError(
                f'calibrate: unknown dtype "{dtype}"; choose from: {", ".join(DTYPES)}'
            )


def calibrate(
    frameworks: list[str],
    devices: list[Device],
    sizes: list[int] | None = None,
    out: Path = DEFAULT_OUT,
    settings: Settings = Settings(),
    *,
    dtypes: list[str] | None = None,
    nvml: Any = None,
    echo: Callable[[str], object] | None = None,
) -> list[dict[str, Any]]:
    """Measure every framework × device in its own child; write the document; return its rows.

    `sizes` / `dtypes` default per device kind (`DEFAULT_SIZES`, `DEFAULT_DTYPES`). The
    document is rewritten after each child, so an interrupted calibration keeps what it
    measured. `echo(str)` is told each child's outcome.
    """
    _validate(frameworks, sizes, dtypes)
    counts = settings.thread_counts()
    started = datetime.now(UTC)
    path = out / f"{_safe(socket.gethostname())}-{started:%Y%m%d-%H%M%S}.json"
    meta = {**asdict(settings), "threads": list(counts), "flops_per_matmul": "2*n^3"}
    rows: list[dict[str, Any]] = []
    for framework in frameworks:
        for device in devices:
            for threads in counts if device.kind == "cpu" else (max(counts),):
                spec = {
                    **meta,
                    "threads": threads,
                    "framework": framework,
                    "device": device.name,
                    "device_kind": device.kind,
                    "sizes": [int(n) for n in (sizes or DEFAULT_SIZES[device.kind])],
                    "dtypes": list(dtypes or DEFAULT_DTYPES[device.kind]),
                }
                new = _calibrate_one(framework, device, spec, settings.timeout_s)
                rows.extend(new)
                write(_document(rows, started, nvml, meta), path)
                if echo is not None:
                    echo(_summary(framework, device, new))
    return rows


def _calibrate_one(
    framework: str, device: Device, spec: dict[str, Any], timeout_s: float
) -> list[dict[str, Any]]:
    base = {"framework": framework, "device": device.name, "device_name": device.label}
    base["device_uuid"] = device.uuid or ""
    base["threads"] = spec["threads"]
    missing = _missing(framework)
    result, error = (None, missing) if missing else _run_child(spec, device, timeout_s)
    if result is None:
        status = "skipped" if missing else "failed"
        return [
            {**base, "dtype": d, "n": n, "status": status, "error": error}
            for d in spec["dtypes"]
            for n in spec["sizes"]
        ]
    extra = {"backend": result["backend"], "framework_version": result["framework_version"]}
    return [{**base, **extra, **row} for row in result["rows"]]


def _summary(framework: str, device: Device, rows: list[dict[str, Any]]) -> str:
    parts = [
        f"{r['dtype']} n={r['n']}: "
        + (f"best {r['best_tflops']:.3f} TFLOP/s" if r["status"] == "ok" else r["status"])
        for r in rows
    ]
    threads = f" ({rows[0]['threads']} threads)" if rows and device.kind == "cpu" else ""
    return f"{framework} on {device.name}{threads}: " + "; ".join(parts)


def _document(
    rows: list[dict[str, Any]], started: datetime, nvml: Any, settings: dict[str, Any]
) -> dict[str, Any]:
    from bench.hardware.fingerprint import host_fingerprint

    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "calibration",
        "started_utc": started.isoformat(timespec="seconds"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": host_fingerprint(nvml),
        "settings": settings,
        "rows": rows,
    }


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "host"


def host_dir() -> Path:
    """This user's per-host calibration folder (platformdirs: on Linux
    `$XDG_DATA_HOME/bench/calibration`, by default `~/.local/share/bench/calibration`)."""
    import platformdirs

    return platformdirs.user_data_path("bench") / "calibration"


def write(document: dict[str, Any], path: Path) -> None:
    """Write `document` to `path` and to `latest.json` beside it, each atomically, and the same
    two files to `host_dir()`, where every run on this host finds them whatever its `--out`."""
    text = json.dumps(document, indent=2) + "\n"
    for folder in dict.fromkeys([path.parent, host_dir()]):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            if folder != path.parent:  # the per-host copy is a convenience
                continue
            raise
        for target in (folder / path.name, folder / "latest.json"):
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)


def load_latest(results_dir: Path, host: str | None = None) -> dict[str, Any] | None:
    """The newest calibration document for `host` (default: this host), or None.

    Looks in `<results_dir>/calibration` (the default layout), in `results_dir` itself and in
    this user's per-host folder (`host_dir()`); unreadable or foreign files are ignored.
    """
    host = host or socket.gethostname()
    newest: dict[str, Any] | None = None
    for folder in (Path(results_dir) / "calibration", Path(results_dir), host_dir()):
        for path in sorted(folder.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(doc, dict) or doc.get("kind") != "calibration":
                continue
            if doc.get("host", {}).get("hostname") != host:
                continue
            if newest is None or doc.get("created_utc", "") > newest.get("created_utc", ""):
                newest = doc
    return newest
