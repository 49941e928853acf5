"""Run one trial in a fresh child process: environment, timeout, log, events, status.

Caches: a `cold` trial gets fresh, empty compiler-cache folders (inductor, Triton, CUDA, XLA,
JAX); a `warm` one gets persistent folders that earlier warm trials filled.

The child is `python -m bench.trial`, started in its own session (so a timeout or Ctrl-C can
stop it with everything it spawned) with stdout and stderr going to the trial's log. It reports
through an events file (JSON lines), which is read while it runs to show progress, and once more
when it has exited. The status comes from what the child wrote and how it ended — never from
its stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.plan import Trial

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 5


@dataclass(slots=True)
class Outcome:
    """How a trial's child ended and everything it reported."""

    status: str
    exit_code: int | None
    error: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


# What a trial inherits from the parent's environment: the basics of a working process, and the
# variables users set to steer their frameworks and devices. Everything else stays behind.
PASS_NAMES = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SHELL",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "SSL_CERT_FILE",
    "XDG_CACHE_HOME",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
}
PASS_PREFIXES = (
    "LC_",
    "CUDA_",
    "NVIDIA_",
    "CUDNN_",
    "NCCL_",
    "TF_",
    "TORCH",
    "PYTORCH_",
    "XLA_",
    "JAX_",
    "KERAS_",
    "OMP_",
    "MKL_",
    "KMP_",
    "DNNL_",
    "ONEDNN_",
    "TRITON_",
)


def inherited_env(environ: dict[str, str]) -> dict[str, str]:
    """The part of `environ` a trial needs (see PASS_NAMES and PASS_PREFIXES)."""
    return {k: v for k, v in environ.items() if k in PASS_NAMES or k.startswith(PASS_PREFIXES)}


def device_env(device_kind: str, device_index: int | None, threads: int) -> dict[str, str]:
    """A framework child's environment for one device: only the variables it needs from ours,
    its one visible GPU (none for the CPU), its thread count, memory growth instead of grabbing
    the whole GPU, and this project on the import path."""
    env = inherited_env(dict(os.environ))
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
            "CUDA_VISIBLE_DEVICES": "" if device_kind == "cpu" else str(device_index),
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        }
    )
    return env


def child_env(trial: Trial, cache_root: Path) -> dict[str, str]:
    """A trial's environment: its device and threads, its backend, its compiler caches."""
    env = device_env(trial.device_kind, trial.device_index, trial.threads)
    env.update(
        {
            "TORCHINDUCTOR_CACHE_DIR": str(cache_root / "inductor"),
            "TRITON_CACHE_DIR": str(cache_root / "triton"),
            "CUDA_CACHE_PATH": str(cache_root / "cuda"),
            "JAX_COMPILATION_CACHE_DIR": str(cache_root / "jax"),
            "TF_XLA_FLAGS": " ".join(
                filter(
                    None,
                    [
                        env.get("TF_XLA_FLAGS"),
                        f"--tf_xla_persistent_cache_directory={cache_root / 'tf_xla'}",
                    ],
                )
            ),
        }
    )
    if trial.framework == "keras":
        env["KERAS_BACKEND"] = trial.backend
    return env


def _read_new(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines appended to `path` since `offset`, and the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    lines = data[:end].decode("utf-8", errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.strip()], offset + end


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    try:
        os.killpg(proc.pid, sig)
        return True
    except ProcessLookupError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the child's whole process group; kill it if it lingers or on a second Ctrl-C."""
    try:
        if _signal_group(proc, signal.SIGTERM):
            proc.wait(5.0)
            return
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
        _signal_group(proc, signal.SIGKILL)
        raise
    if _signal_group(proc, signal.SIGKILL):
        proc.wait(5.0)


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last non-empty lines of a log, joined on one line for a CSV cell."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)


def _status(rc: int, timed_out: bool, trial: Trial, events: list[dict[str, Any]], log: Path):
    if timed_out:
        return "timeout", f"exceeded timeout_s = {trial.timeout_s:g} s"
    if rc == 0 and any(e["event"] == "done" for e in events):
        return "ok", ""
    errors = [e for e in events if e["event"] == "error"]
    if errors:
        return errors[-1]["status"], errors[-1]["error"]
    if rc < 0:
        name = signal.Signals(-rc).name
        hint = " (possibly the out-of-memory killer)" if rc == -signal.SIGKILL else ""
        return "failed", f"killed by {name}{hint}; log: {log_tail(log)}"
    return "failed", f"exited with code {rc}; log: {log_tail(log)}"


def run_trial(
    trial: Trial,
    work_dir: Path,
    log_path: Path,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    poll_s: float = 0.2,
    cache_dir: Path | None = None,
) -> Outcome:
    """Run `trial` in a child process and wait for it (or its timeout).

    Compiler caches go to `cache_dir` (kept: a warm cache) or, when None, to a fresh temporary
    folder removed afterwards (a cold start).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    trial_json, events_path = work_dir / "trial.json", work_dir / "events.jsonl"
    trial_json.write_text(json.dumps(trial.to_json()))
    events_path.write_text("")
    cache_root = cache_dir or Path(tempfile.mkdtemp(prefix=f"bench-{trial.trial_id}-"))
    events: list[dict[str, Any]] = []
    offset, timed_out, interrupted = 0, False, False
    try:
        with open(log_path, "wb") as log:
            spawn_t = time.monotonic()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.trial",
                    str(trial_json),
                    str(events_path),
                    repr(spawn_t),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env(trial, cache_root),
                start_new_session=True,
            )
            try:
                while proc.poll() is None:
                    new, offset = _read_new(events_path, offset)
                    for event in new:
                        events.append(event)
                        on_event(event)
                    if time.monotonic() - spawn_t > trial.timeout_s:
                        timed_out = True
                        _stop(proc)
                        break
                    time.sleep(poll_s)
            except KeyboardInterrupt:  # Ctrl-C in the parent: stop the child, keep what it wrote
                interrupted = True
                _stop(proc)
        # Whatever the trial left running (compile workers, loader workers) goes with it, so
        # that it cannot compete with the next trial for the CPU.
        _signal_group(proc, signal.SIGKILL)
        new, offset = _read_new(events_path, offset)
        events.extend(new)
        if interrupted:
            status, error = "interrupted", "stopped by Ctrl-C"
        else:
            status, error = _status(proc.returncode, timed_out, trial, events, log_path)
        return Outcome(status, proc.returncode, error, events)
    finally:
        if cache_dir is None:
            shutil.rmtree(cache_root, ignore_errors=True)
