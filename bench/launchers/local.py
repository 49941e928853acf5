"""Run one trial in a fresh child process: environment, timeout, log, events, status.

Caches: a `cold` trial gets fresh, empty compiler-cache folders (inductor, Triton, CUDA, XLA,
JAX); a `warm` one gets persistent folders that earlier warm trials filled. JAX is told to
cache every compiled computation, however quick or small (`JAX_CACHE_EVERYTHING`).

The child is `python -m bench.trial`, started in its own session (so a timeout or Ctrl-C can
stop it with everything it spawned) with stdout and stderr going to the trial's log. It reports
through an events file (JSON lines), which is read while it runs to show progress, and once more
when it has exited. The status comes from what the child wrote and how it ended — never from
its stdout. Just before the spawn and right after the child ends, the parent records the noise
snapshot (`bench.trial.noise.snapshot`: load average, CPU governor, thermal throttle count) as
the events `noise_before` and `noise_after`, outside every timed interval.
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
from pathlib import Path
from typing import Any

from bench.contract.lifetime import PARENT_VARIABLE
from bench.contract.trial import Trial
from bench.hardware.device_env import device_env
from bench.hardware.precision import autotune_env
from bench.launchers import stops
from bench.launchers.process import (
    Outcome,
    ended_status,
    read_new_events,
    signal_group,
    stop_group,
)
from bench.trial import noise

#: JAX writes a persistent-cache entry only for a compile of at least
#: `jax_persistent_cache_min_compile_time_secs` (default 1 s) and of at least
#: `jax_persistent_cache_min_entry_size_bytes` (0, its default, lets JAX substitute a
#: filesystem-dependent minimum; -1 turns the size limit off). Both are read from these
#: variables when JAX is imported (`jax/_src/config.py`, `float_state` / `int_state`); the
#: defaults would leave a small model's warm cache nearly empty.
JAX_CACHE_EVERYTHING = {
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
}


def cache_env(cache_root: Path, tf_xla_flags: str | None) -> dict[str, str]:
    """The compiler caches' variables: every cache's folder under `cache_root`, and JAX told
    to cache every compiled computation (`JAX_CACHE_EVERYTHING`)."""
    tf_cache = f"--tf_xla_persistent_cache_directory={cache_root / 'tf_xla'}"
    return {
        "TORCHINDUCTOR_CACHE_DIR": str(cache_root / "inductor"),
        "TRITON_CACHE_DIR": str(cache_root / "triton"),
        "CUDA_CACHE_PATH": str(cache_root / "cuda"),
        "JAX_COMPILATION_CACHE_DIR": str(cache_root / "jax"),
        **JAX_CACHE_EVERYTHING,
        "TF_XLA_FLAGS": " ".join(filter(None, [tf_xla_flags, tf_cache])),
    }


def child_env(trial: Trial, cache_root: Path) -> dict[str, str]:
    """A trial's environment: its device and threads, its backend, its compiler caches
    (`cache_env`), and its autotuning as TensorFlow and XLA read it at start-up
    (`bench.hardware.precision`)."""
    env = device_env(trial.device_kind, trial.cuda_visible_id, trial.threads)
    env.update(cache_env(cache_root, env.get("TF_XLA_FLAGS")))
    env[PARENT_VARIABLE] = str(os.getpid())  # the child dies with us (bench.contract.lifetime)
    if trial.framework == "keras":
        env["KERAS_BACKEND"] = trial.backend
    env.update(autotune_env(trial.autotune, env.get("XLA_FLAGS")))
    if trial.parallel == "data" and trial.backend == "jax" and trial.device_kind == "cpu":
        host = f"--xla_force_host_platform_device_count={trial.world_size}"  # N JAX CPU devices
        env["XLA_FLAGS"] = " ".join(filter(None, [env.get("XLA_FLAGS"), host]))
    return env


def run_trial(
    trial: Trial,
    work_dir: Path,
    log_path: Path,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    poll_s: float = 0.2,
    cache_dir: Path | None = None,
    on_spawn: Callable[[int], None] = lambda pid: None,
) -> Outcome:
    """Run `trial` in a child process and wait for it (or its timeout).

    Compiler caches go to `cache_dir` (kept: a warm cache) or, when None, to a fresh temporary
    folder removed afterwards (a cold start). `on_spawn` gets the child's process id, which is
    also its process group's (a cluster job stops the group when the scheduler preempts it).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    trial_json, events_path = work_dir / "trial.json", work_dir / "events.jsonl"
    trial_json.write_text(json.dumps(trial.to_json()))
    events_path.write_text("")
    cache_root = cache_dir or Path(tempfile.mkdtemp(prefix=f"bench-{trial.trial_id}-"))
    argv = [sys.executable, "-m", "bench.trial", str(trial_json), str(events_path)]
    try:
        with open(log_path, "wb") as log:
            before = {"event": "noise_before", **noise.snapshot()}
            spawn_t = time.monotonic()
            proc = subprocess.Popen(
                [*argv, repr(spawn_t)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env(trial, cache_root),
                start_new_session=True,
            )
            on_spawn(proc.pid)
            events, offset, ended = _watch(
                proc, events_path, spawn_t + trial.timeout_s, on_event, poll_s
            )
        # Whatever the trial left running (compile workers, loader workers) goes with it, so
        # that it cannot compete with the next trial for the CPU.
        signal_group(proc, signal.SIGKILL)
        events.extend(read_new_events(events_path, offset)[0])
        events = [before, *events, {"event": "noise_after", **noise.snapshot()}]
        if ended == "interrupted":
            status, error = "interrupted", f"stopped by {stops.reason()}"
        else:
            timed_out = ended == "timeout"
            status, error = ended_status(proc.returncode, timed_out, trial, events, log_path)
        return Outcome(status, proc.returncode, error, events)
    finally:
        if cache_dir is None:
            shutil.rmtree(cache_root, ignore_errors=True)


def _watch(
    proc: subprocess.Popen[bytes],
    events_path: Path,
    deadline: float,
    on_event: Callable[[dict[str, Any]], None],
    poll_s: float,
) -> tuple[list[dict[str, Any]], int, str]:
    """Relay the child's events as they come until it exits, its deadline passes (it is stopped)
    or Ctrl-C (it is stopped, what it wrote is kept). Returns the events, the offset read up to,
    and how it ended: "", "timeout" or "interrupted"."""
    events: list[dict[str, Any]] = []
    offset = 0
    try:
        while proc.poll() is None:
            new, offset = read_new_events(events_path, offset)
            for event in new:
                events.append(event)
                on_event(event)
            if time.monotonic() > deadline:
                stop_group(proc)
                return events, offset, "timeout"
            time.sleep(poll_s)
    except KeyboardInterrupt:  # Ctrl-C in the parent: stop the child, keep what it wrote
        stop_group(proc)
        return events, offset, "interrupted"
    return events, offset, ""
