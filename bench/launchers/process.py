"""The process helpers every launcher shares: how a trial's processes report and end.

A trial's child (`python -m bench.trial`) reports through an events file of JSON lines that its
launcher reads while it runs (`read_new_events`) and once more when it has exited; it leads a
process group of its own, which the launcher signals as a whole (`signal_group`, `stop_group`:
SIGTERM, then SIGKILL); its status comes from what it wrote and how it ended (`ended_status`),
never from its stdout. `Outcome` is what every launcher returns.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contract.trial import Trial

LOG_TAIL_LINES = 5


@dataclass(slots=True)
class Outcome:
    """How a trial's child ended and everything it reported."""

    status: str
    exit_code: int | None
    error: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


def scratch_dir(base: Path, trial_id: str) -> Path:
    """A fresh, empty working folder for one attempt of a trial under `base`: a late writer of an
    earlier attempt (a child that outlived its parent) can never reach this attempt's files."""
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{trial_id}.", dir=base))


def read_new_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
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


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event a child has written to its events file so far."""
    return read_new_events(path, 0)[0]


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """Send `sig` to the process group `proc` leads; False when it is gone."""
    try:
        os.killpg(proc.pid, sig)
        return True
    except ProcessLookupError:
        return False


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the child's whole process group; kill it if it lingers or on a second Ctrl-C."""
    try:
        if signal_group(proc, signal.SIGTERM):
            proc.wait(5.0)
            return
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
        signal_group(proc, signal.SIGKILL)
        raise
    if signal_group(proc, signal.SIGKILL):
        proc.wait(5.0)


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last non-empty lines of a log, joined on one line for a CSV cell."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)


def ended_status(
    rc: int, timed_out: bool, trial: Trial, events: list[dict[str, Any]], log: Path
) -> tuple[str, str]:
    """(status, error) of a child that exited with `rc`, from what it wrote and how it ended."""
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
