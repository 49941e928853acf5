"""One writer per run folder: an exclusive lock that `run`, `--resume` and a cluster collector hold.

The lock is `fcntl.flock` on `<run>/.lock`, which holds the writer's process id, host and start
time. The kernel releases it when that process ends however it ends, so a lock left by a dead
process is simply taken over; while its holder lives, a second writer gets a `UsageError` (exit
2) at once, naming the holder. One process may take the same folder's lock more than once (a
resume that reopens its own folder): it holds one lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from bench.errors import UsageError

LOCK_FILE = ".lock"
_HELD: dict[Path, int] = {}  # folder → this process's locked descriptor


def hold(run_dir: Path) -> None:
    """Take `run_dir`'s writer lock for the rest of this process (or until `release`)."""
    key = run_dir.resolve()
    if key in _HELD:
        return
    path = key / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 4096).decode("utf-8", errors="replace")
        os.close(fd)
        raise UsageError(f"{run_dir}: another bench process is writing this run folder "
                         f"({_who(holder)}); wait for it to end or stop it, then try again "
                         "(one writer at a time keeps every trial once).") from None  # fmt: skip
    os.ftruncate(fd, 0)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since_unix": round(time.time())}
    os.write(fd, json.dumps(me).encode())
    _HELD[key] = fd


def _who(text: str) -> str:
    try:
        holder = json.loads(text)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["since_unix"]))
        return f"process {holder['pid']} on {holder['host']}, since {since}"
    except (ValueError, KeyError, TypeError):
        return "a process that left no name"


def release(run_dir: Path) -> None:
    """Give the lock back (the process ending does the same)."""
    fd = _HELD.pop(run_dir.resolve(), None)
    if fd is not None:
        os.close(fd)
