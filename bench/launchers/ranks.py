"""Run a data-parallel trial: N rank processes started and supervised by the harness itself.

Why not `torch.distributed.run` (torchrun): the harness already owns what a trial needs — a
fresh process per trial, its environment (one GPU by UUID, thread caps, compiler caches), a
timeout that kills the process group, Ctrl-C, events read live, a status from what the child
wrote — and torchrun would sit between it and the ranks (one more interpreter start in
`spawn`, its own restart and signal policy, its own rendezvous). So each rank is the same
`python -m bench.trial` child as a single-device trial, with the environment torchrun would
give it: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a
MASTER_PORT picked free for this trial (binding port 0). On CUDA each rank sees only its own
GPU (by UUID, as cuda:0); on the CPU the ranks share it, each with `rank_threads` threads
(`OMP_NUM_THREADS`, `torch.set_num_threads`): without the cap every rank starts a pool of the
whole machine's size and epochs run many times slower.

Supervision: a rank that ends with an error ends the trial — the others would wait for it in
their next collective — so they are stopped, and the trial is recorded with that rank's status
and error (the earliest error, by the time the child wrote it: a peer's broken-connection error
comes after it). The trial's timeout and Ctrl-C stop every rank's process group.

Results: rank 0's events are the trial's (its clock is the global one: its epochs end at the
barrier every rank reaches); every rank's epochs come back as `rank_epoch` events for ranks.csv.
Energy is counted once for the machine: CPU (RAPL, package-wide) from rank 0, GPU summed over
the ranks' own GPUs' boards (ranks on MIG slices of one board: its counter once). Device-memory
peaks are the largest over the ranks (a per-GPU figure, as a Keras data-parallel trial records
over its replicas' GPUs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.contract.trial import Trial
from bench.launchers import stops
from bench.launchers.local import child_env
from bench.launchers.process import Outcome, ended_status, read_new_events, signal_group


def rank_threads(threads: int, world_size: int) -> int:
    """CPU threads of one rank when `world_size` ranks share `threads`: at least 1."""
    return max(1, threads // world_size)


def free_port() -> int:
    """A TCP port free on this host now (the OS picks it when binding port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_trial(trial: Trial, rank: int) -> Trial:
    """What rank `rank` runs: its GPU (on CUDA) or its share of the CPU's threads."""
    if trial.device_kind == "cuda" and trial.rank_gpus:
        index, uuid = trial.rank_gpus[rank]
        return dataclasses.replace(trial, rank=rank, device_index=index, device_uuid=uuid)
    threads = trial.threads
    if trial.device_kind == "cpu":
        threads = rank_threads(trial.threads, trial.world_size)
    return dataclasses.replace(trial, rank=rank, threads=threads)


def rank_env(trial: Trial, rank: int, port: int, cache_root: Path) -> dict[str, str]:
    """A rank's environment: a trial child's (`child_env`) plus torch.distributed's variables."""
    env = child_env(trial, cache_root)
    world = str(trial.world_size)
    env.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": world,
            "LOCAL_WORLD_SIZE": world,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    return env


def rank_log(log_path: Path, rank: int) -> Path:
    """Rank 0 logs to the trial's log; rank r to `<trial>.rank<r>.log` beside it."""
    return log_path if rank == 0 else log_path.with_name(f"{log_path.stem}.rank{rank}.log")


@dataclasses.dataclass(slots=True)
class _Rank:
    trial: Trial
    proc: subprocess.Popen[bytes]
    events_path: Path
    log: Path
    offset: int = 0
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    ended_at: float | None = None  # when the supervisor saw it exit on its own (before any stop)

    def exited(self) -> bool:
        """Has it exited? The first time it is seen so, the time is taken (monotonic, as its own
        error events are)."""
        if self.ended_at is None and self.proc.poll() is not None:
            self.ended_at = time.monotonic()
        return self.ended_at is not None

    def read(self) -> list[dict[str, Any]]:
        new, self.offset = read_new_events(self.events_path, self.offset)
        self.events.extend(new)
        return new


def _start(trial: Trial, work_dir: Path, log_path: Path, cache_root: Path) -> list[_Rank]:
    port, ranks = free_port(), []
    for r in range(trial.world_size):
        mine = rank_trial(trial, r)
        trial_json, events = work_dir / f"trial.rank{r}.json", work_dir / f"events.rank{r}.jsonl"
        trial_json.write_text(json.dumps(mine.to_json()))
        events.write_text("")
        argv = [sys.executable, "-m", "bench.trial", str(trial_json), str(events)]
        log = rank_log(log_path, r)
        with open(log, "wb") as out:
            spawn_t = time.monotonic()
            proc = subprocess.Popen(
                [*argv, repr(spawn_t)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=rank_env(mine, r, port, cache_root),
                start_new_session=True,
            )
        ranks.append(_Rank(mine, proc, events, log))
    return ranks


def stop_all(ranks: list[_Rank], grace_s: float = 5.0) -> None:
    """SIGTERM every rank's process group at once, SIGKILL what is left after `grace_s`."""
    for rank in ranks:
        signal_group(rank.proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    try:
        for rank in ranks:
            with contextlib.suppress(subprocess.TimeoutExpired):
                rank.proc.wait(max(0.0, deadline - time.monotonic()))
    finally:  # also on a second Ctrl-C
        for rank in ranks:
            signal_group(rank.proc, signal.SIGKILL)
            rank.proc.wait()


def _failed(ranks: list[_Rank]) -> _Rank | None:
    """The rank whose failure ended the trial: of those that exited non-zero on their own —
    seen by `exited` before any stop, so the ranks the supervisor then stopped never tie with
    it — the first to fail, by its error event or else the time it was seen to exit."""
    bad = [r for r in ranks if r.ended_at is not None and r.proc.returncode not in (None, 0)]

    def when(rank: _Rank) -> float:
        errors = (e["at"] for e in rank.events if e["event"] == "error" and "at" in e)
        return next(errors, rank.ended_at)  # type: ignore[arg-type]

    return min(bad, key=lambda r: (when(r), r.trial.rank)) if bad else None


def _watch(
    ranks: list[_Rank], deadline: float, on_event: Callable[[dict[str, Any]], None], poll_s: float
) -> str:
    """Relay rank 0's events until every rank has exited, one fails (the others are stopped),
    the deadline passes or Ctrl-C (every rank is stopped). Returns "", "failed", "timeout" or
    "interrupted"."""
    try:
        while True:
            for rank in ranks:
                for event in rank.read():
                    if rank.trial.rank == 0:
                        on_event(event)
            if all([r.exited() for r in ranks]):  # every rank looked at: each exit time taken
                return ""
            if _failed(ranks) is not None:
                stop_all(ranks)
                return "failed"
            if time.monotonic() > deadline:
                stop_all(ranks)
                return "timeout"
            time.sleep(poll_s)
    except KeyboardInterrupt:
        stop_all(ranks)
        return "interrupted"


def run_ranks(
    trial: Trial,
    work_dir: Path,
    log_path: Path,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    poll_s: float = 0.2,
    cache_dir: Path | None = None,
    on_spawn: Callable[[int], None] = lambda pid: None,
) -> Outcome:
    """Run a data-parallel `trial` as `trial.world_size` rank processes (see the module's
    docstring); the same contract as `bench.launchers.local.run_trial` (`on_spawn` gets each
    rank's process id, which leads its process group)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    cache_root = cache_dir or Path(tempfile.mkdtemp(prefix=f"bench-{trial.trial_id}-"))
    ranks: list[_Rank] = []
    try:
        ranks = _start(trial, work_dir, log_path, cache_root)
        for rank in ranks:
            on_spawn(rank.proc.pid)
        ended = _watch(ranks, time.monotonic() + trial.timeout_s, on_event, poll_s)
        for rank in ranks:  # whatever a rank left running goes with it
            signal_group(rank.proc, signal.SIGKILL)
            rank.read()
        status, code, error = _verdict(trial, ranks, ended)
        return Outcome(status, code, error, merged_events(trial, [r.events for r in ranks]))
    except BaseException:
        stop_all(ranks)
        raise
    finally:
        if cache_dir is None:
            shutil.rmtree(cache_root, ignore_errors=True)


def _verdict(trial: Trial, ranks: list[_Rank], ended: str) -> tuple[str, int | None, str]:
    """The trial's status, exit code and error from how its ranks ended."""
    first = ranks[0]
    if ended == "interrupted":
        return "interrupted", first.proc.returncode, f"stopped by {stops.reason()}"
    if ended == "timeout":
        return "timeout", first.proc.returncode, f"exceeded timeout_s = {trial.timeout_s:g} s"
    culprit = _failed(ranks) or next(
        (r for r in ranks if not any(e["event"] == "done" for e in r.events)), None
    )
    if culprit is None:
        return "ok", 0, ""
    rc = culprit.proc.returncode
    status, error = ended_status(rc, False, culprit.trial, culprit.events, culprit.log)
    return status, rc, f"rank {culprit.trial.rank} of {trial.world_size}: {error}"


def merged_events(trial: Trial, per_rank: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rank 0's events, its epochs' GPU energy summed over every rank's GPU and device-memory
    peaks the largest over the ranks, and each rank's epochs as `rank_epoch` events (samples:
    the rank's own)."""
    by_epoch: dict[int, list[dict[str, Any]]] = {}
    boards: dict[int, list[int]] = {}  # each of those ranks' board (its NVML index)
    extra = []
    for r, events in enumerate(per_rank):
        for e in (e for e in events if e["event"] == "epoch"):
            by_epoch.setdefault(e["epoch"], []).append(e)
            boards.setdefault(e["epoch"], []).append(
                trial.rank_gpus[r][0] if r < len(trial.rank_gpus) else -1 - r
            )
            fields = {k: e.get(k) for k in RANK_FIELDS}
            fields["samples"] = trial.rank_samples_per_epoch
            extra.append({"event": "rank_epoch", "rank": r, **fields})

    def machine(e: dict[str, Any]) -> dict[str, Any]:
        ranks = by_epoch[e["epoch"]]
        return largest_device_peaks(machine_energy(e, ranks, boards[e["epoch"]]), ranks)

    events = [machine(e) if e["event"] == "epoch" else e for e in (per_rank[0] if per_rank else [])]
    return events + extra


RANK_FIELDS = (
    "epoch",
    "wall_s",
    "samples",
    "local_s",
    "barrier_wait_s",
    "peak_rss_bytes",
    "peak_device_bytes",
    "device_mem_source",
    "energy_gpu_j",
)


def machine_energy(
    first: dict[str, Any], ranks: list[dict[str, Any]], boards: list[int] | None = None
) -> dict[str, Any]:
    """Rank 0's epoch event with the GPU energy of every rank's GPU (when every rank measured
    it) and the total counted once: rank 0's CPU (package-wide) + the GPUs. `boards` names each
    rank's board: ranks on MIG slices of one board read its one counter, which counts once."""
    gpu = [e.get("energy_gpu_j") for e in ranks]
    if len(ranks) < 2 or any(g is None for g in gpu):
        return first
    board_of = boards if boards is not None else list(range(len(ranks)))
    once: dict[int, float] = {}  # each board's counter as its first rank read it
    for board, joules in zip(board_of, gpu, strict=True):
        once.setdefault(board, joules)
    total_gpu = sum(once.values())
    cpu = first.get("energy_cpu_j")
    return first | {"energy_gpu_j": total_gpu, "energy_j": total_gpu + (cpu or 0.0)}


def largest_device_peaks(first: dict[str, Any], ranks: list[dict[str, Any]]) -> dict[str, Any]:
    """Rank 0's epoch event with each device-memory source's peak (`peak_device_bytes`, and
    memory.csv's sources other than the host's) the largest over the ranks where every rank
    has it: a per-GPU figure, as a Keras data-parallel trial records over its replicas' GPUs.
    Host memory stays rank 0's (one process of N); ranks.csv keeps every rank's."""
    if len(ranks) < 2:
        return first
    memory = dict(first.get("memory") or {})
    for source in [s for s in memory if not s.startswith("host_")]:
        values = [(e.get("memory") or {}).get(source) for e in ranks]
        if all(v is not None for v in values):
            memory[source] = max(values)
    primary = first.get("device_mem_source") or ""
    return first | {
        "memory": memory,
        "peak_device_bytes": memory.get(primary, first.get("peak_device_bytes")),
    }
