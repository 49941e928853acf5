"""A cluster run's hand-over files: what the parent gives each job and what each job gives back.

The parent writes `jobs/<trial_id>.json` (the planned trial) and `launcher.json` (launcher,
partition, submitit folder, job id of each trial); a job pickle holds only these paths. Each job
writes, on its node, only files named after its own trial, each atomically (a temporary file in
the same folder, then `os.replace`), so no two jobs ever write the same file:

- `parts/<trial_id>.started.json` when it starts: node, process id, attempt, time;
- `parts/<trial_id>-a<N>.json` for attempt N that the scheduler preempted (requeued after);
- `parts/<trial_id>.json` when the trial has ended: its status, error, the child's events, the
  trial as run (device facts read on the node) and the node's host fingerprint.

The parent (and `bench status`, `--resume`) merge these into the run's tables.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

PARTS = "parts"
JOBS = "jobs"
LAUNCHER_FILE = "launcher.json"


def write_json(path: Path, doc: Any) -> None:
    """Replace `path` with `doc` as JSON all at once (tmp file + rename, flushed to disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The JSON document at `path`, or None when it is absent or not (yet) complete."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def trial_json(run_dir: Path, trial_id: str) -> Path:
    return run_dir / JOBS / f"{trial_id}.json"


def part(run_dir: Path, trial_id: str) -> Path:
    return run_dir / PARTS / f"{trial_id}.json"


def started(run_dir: Path, trial_id: str) -> Path:
    return run_dir / PARTS / f"{trial_id}.started.json"


def attempt_id(trial_id: str, attempt: int) -> str:
    """The trial id under which a preempted attempt's rows are kept."""
    return f"{trial_id}-a{attempt}"


def attempt(run_dir: Path, trial_id: str, number: int) -> Path:
    return run_dir / PARTS / f"{attempt_id(trial_id, number)}.json"


def attempts(run_dir: Path, trial_id: str) -> list[Path]:
    """The recorded preempted attempts of a trial, oldest first."""
    pattern = re.compile(re.escape(trial_id) + r"-a(\d+)\.json")
    found = [(m, p) for p in (run_dir / PARTS).glob("*.json") if (m := pattern.fullmatch(p.name))]
    return [p for m, p in sorted(found, key=lambda mp: int(mp[0].group(1)))]
