"""What Slurm says about a run's jobs, asked the way that works on every site.

`job_states` asks `squeue` first — one call for every job of the run, `-t all` so that a job
that ended in the last few minutes (Slurm's `MinJobAge`, 300 s by default) is listed with its
final state (CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ...) — and `sacct` only for the jobs
`squeue` no longer lists. Many sites run without accounting for users (`sacct` then exits 1) or
restrict it, and a *pending* array task that was cancelled never reaches accounting at all: a
job neither listed by `squeue` nor known to `sacct` has ended, and its state is "" here. When
`squeue` itself cannot be asked (no controller answers), `Unanswered` says why: nothing can be
concluded, and no job is taken for ended.

`partition_nodes` is `sinfo`'s list of the nodes of some partitions (where jobs may run).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

QUERY_TIMEOUT_S = 60  # squeue retries a missing config for 60 s: never wait longer than that
CHUNK = 200  # job ids per call (a command line has its limits)


class Unanswered(Exception):
    """`squeue` could not be asked (not installed, no controller, a timeout): its words."""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=QUERY_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _base(job_id: str) -> str:
    """The job id `squeue -j` takes for a job or each task of its array: `33_2` → `33`."""
    return job_id.split("_", 1)[0]


def squeue_states(job_ids: Iterable[str]) -> dict[str, str]:
    """`squeue -h -r -t all -j IDS -o "%i %T"`: the state of each job (array tasks one by one,
    as `33_2`) that Slurm's controller still holds; raises `Unanswered`."""
    bases = sorted({_base(j) for j in job_ids if j})
    found: dict[str, str] = {}
    for start in range(0, len(bases), CHUNK):
        ids = ",".join(bases[start : start + CHUNK])
        done = _run(["squeue", "-h", "-r", "-t", "all", "-j", ids, "-o", "%i %T"])
        if done is None:
            raise Unanswered(f"squeue did not run or answer within {QUERY_TIMEOUT_S} s")
        if done.returncode != 0:
            if "Invalid job id" in done.stderr:  # none of them is held any more
                continue
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise Unanswered(f"squeue: {lines[-1]}")
        for line in done.stdout.splitlines():
            job, _, state = line.strip().partition(" ")
            if job and state:
                found[job] = state.split()[0].upper()
    return found


def sacct_states(job_ids: Iterable[str]) -> dict[str, str]:
    """`sacct`'s final state of each job it knows ({} without accounting, or when refused)."""
    ids = sorted({j for j in job_ids if j})
    found: dict[str, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ",".join(ids[start : start + CHUNK])
        done = _run(["sacct", "-n", "-P", "-X", "-j", chunk, "-o", "JobID,State"])
        if done is None or done.returncode != 0:
            return found
        for line in done.stdout.splitlines():
            job, _, state = line.strip().partition("|")
            if job and state and "[" not in job:  # a pending range `33_[3-5]` is squeue's
                found[job] = state.split()[0].upper()  # "CANCELLED by 0" → CANCELLED
    return found


def job_states(job_ids: Iterable[str]) -> dict[str, str]:
    """Each job's state: squeue's, else sacct's, else "" (ended: Slurm no longer knows it);
    raises `Unanswered` when squeue cannot be asked (see the module docstring)."""
    wanted = [j for j in dict.fromkeys(job_ids) if j]
    queued = squeue_states(wanted)
    unlisted = [j for j in wanted if j not in queued]
    accounted = sacct_states(unlisted) if unlisted else {}
    return {j: queued.get(j) or accounted.get(j, "") for j in wanted}


def partition_nodes(partitions: Iterable[str]) -> set[str] | None:
    """The nodes of these partitions (all partitions: none named), short names; None when
    `sinfo` cannot be asked."""
    argv = ["sinfo", "-h", "-N", "-o", "%N"]
    if names := [p for p in partitions if p]:
        argv += ["-p", ",".join(names)]
    done = _run(argv)
    if done is None or done.returncode != 0:
        return None
    return {line.strip().split(".")[0] for line in done.stdout.splitlines() if line.strip()}
