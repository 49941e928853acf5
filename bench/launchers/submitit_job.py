"""One cluster job = one trial: the picklable callable that submitit runs on a node.

It holds only strings (the trial's JSON path, the run folder), so its pickle stays small. On the
node it reads the trial, fills in the device facts only the node knows (a trial planned for
`cuda:0` of a Slurm allocation learns its GPU's name and UUID here, from NVML), applies the
planner's device rules to them (a tf32/bf16 trial on a pre-Ampere GPU, data-parallel ranks on a
MIG slice: recorded `skipped` with the reason, as a local plan would have), and runs the
same protocol as `bench run` on one machine: `bench.launchers.local.run_trial` — a fresh child,
its timeout, its statuses. Then it writes `parts/<trial_id>.json` (see `bench.launchers.parts`).

A `warm` trial's cache lives where the local launcher keeps it, `<output dir>/.cache/<key>/`, on
the shared file system, keyed by the GPU name the node reports: before its timed trial the job
fills it with the same untimed run the local launcher does (`bench.launchers.caches.fill`), unless
an earlier job of that key already has; the fill goes into the part (`cache_fill`) and from there
into run.json's `cache_fills`. Two jobs of one key that start together may both fill it (each
compiler writes its cache entries atomically); the second fill only costs time, never timing.

`[sweep] warmup`: the node may be fresh, so each job first runs the local launcher's untimed
warm-up trials for its own trial's framework, backend and device (`caches.run_warm_up`), and
its part says so (`warmup`, into run.json's `warmup` with the node).

Preemption: submitit calls `checkpoint()` when the scheduler signals the job (USR2). A trial is
never resumed half-way (its first epoch would no longer be a cold start): the child is stopped,
the attempt is recorded as `preempted` (`parts/<trial_id>-a<N>.json`, its log kept as
`logs/<trial_id>-a<N>.log`) and the job is requeued to run the trial whole. When the signal
comes because the job's own time limit is near (it comes `SIGNAL_DELAY_S` = 90 s before the
limit, up to a minute earlier: `bench.launchers.slurm.timeout_after_s`), rerunning would not
help: the trial ends as `timeout` and is not requeued.

SIGTERM: `scontrol requeue`, `scancel` and a preemption with `PreemptMode=REQUEUE` send SIGTERM
to every process of the job (SIGKILL follows after Slurm's KillWait). The trial's child dies of
it, but that death is not the trial's result: the job stops its children and records nothing
final. If Slurm requeued the job (its `Restarts` count went up), the attempt is recorded as
`preempted` and the requeued job runs the trial again whole; otherwise (cancelled, or the time
limit) the job ends without a result and the parent finds out from Slurm
(`bench.core.jobs`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from submitit.helpers import Checkpointable, DelayedSubmission

from bench.contract.trial import Trial
from bench.hardware.devices import Device, mig_ranks_skip
from bench.hardware.fingerprint import this_host
from bench.hardware.precision import precision_skip
from bench.launchers import parts
from bench.launchers.caches import fill, run_warm_up, warm_dir
from bench.launchers.launch import launcher_for
from bench.launchers.process import read_events, scratch_dir
from bench.launchers.slurm import SIGNAL_DELAY_S, timeout_after_s

ON_NODE = "(read on the node)"  # a planned trial's device_name until its node fills it in


def on_node(trial: Trial) -> Trial:
    """The trial with its device's name, NVML index and UUID as this node sees them, a
    data-parallel CUDA trial's ranks on the node's first `world_size` GPUs, and a `skip` reason
    where the node's devices cannot run it (`node_skip`) — only for a trial planned without a
    node: `device_name == ON_NODE`."""
    if trial.device_name != ON_NODE:
        return trial
    from bench.hardware import devices

    found = {d.name: d for d in devices.discover()}
    wanted = [trial.device]
    if trial.rank_gpus:  # planned as cuda:0 … cuda:N−1 of the job's allocation
        wanted = [f"cuda:{i}" for i in range(len(trial.rank_gpus))]
    missing = [name for name in wanted if name not in found]
    if missing:
        return dataclasses.replace(trial, skip=f"this node has no {', '.join(missing)} "
                                   f"(it has: {', '.join(found)})")  # fmt: skip
    device = found[trial.device]
    ranks = tuple((found[n].index or 0, found[n].uuid or "") for n in wanted)
    return dataclasses.replace(
        trial,
        device_name=device.label,
        device_index=device.index,
        device_uuid=device.uuid or "",
        rank_gpus=ranks if trial.rank_gpus else (),
        skip=trial.skip or node_skip(trial, [found[n] for n in wanted]),
    )


def node_skip(trial: Trial, used: list[Device]) -> str:
    """Why `trial` cannot run on the devices this node gave it ("" when it can): the planner's
    own rules, which could not see these devices when it planned for `ON_NODE` — the precision
    on each device's compute capability (`bench.hardware.precision.precision_skip`: no TF32 or
    BF16 before Ampere, e.g. a V100 partition), and data-parallel ranks on a MIG slice
    (`bench.hardware.devices.mig_ranks_skip`)."""
    for device in used:
        capability = device.compute_capability
        if why := precision_skip(trial.precision, trial.framework, device.kind, capability):
            return f"on node {socket.gethostname()}, {device.name} is a {device.label}: {why}"
    if trial.world_size > 1 and (why := mig_ranks_skip(used)):
        return f"on node {socket.gethostname()}: {why}"
    return ""


class TrialJob(Checkpointable):
    """Run one planned trial on this node and write its part file."""

    def __init__(
        self,
        trial_path: str,
        run_dir: str,
        time_limit_s: float,
        attempt: int = 0,
        warmup: int = 0,
        signal_delay_s: float = SIGNAL_DELAY_S,
    ):
        self.trial_path = trial_path
        self.run_dir = run_dir
        self.time_limit_s = time_limit_s
        self.attempt = attempt  # recorded attempts before this one (preempted, requeued)
        self.warmup = warmup  # [sweep] warmup: untimed warm-up trials before this job's trial
        self.signal_delay_s = signal_delay_s  # sbatch --signal=USR2@this, before the time limit
        self._began = time.time()
        self._stopped: float | None = None  # when SIGTERM came: Slurm ends or requeues the job
        self._children: list[int] = []  # process-group leaders running now
        self._trial: Trial | None = None
        self._scratch: Path | None = None  # this attempt's working folder
        self._filled: dict[str, Any] | None = None  # this job's fill of a warm cache
        self._warmed: list[dict[str, Any]] = []  # this job's warm-up trials

    def __getstate__(self) -> dict[str, Any]:
        keys = ("trial_path", "run_dir", "time_limit_s", "attempt", "warmup", "signal_delay_s")
        return {k: getattr(self, k) for k in keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __call__(self) -> str:
        self._began = time.time()
        with contextlib.suppress(ValueError):  # the main thread only (as submitit runs it)
            signal.signal(signal.SIGTERM, self._terminated)
        run_dir = Path(self.run_dir)
        trial = Trial.from_json(parts.read_json(Path(self.trial_path)))
        self.attempt = max(self.attempt, len(parts.attempts(run_dir, trial.trial_id)))
        parts.write_json(parts.started(run_dir, trial.trial_id), self._whereabouts())
        trial = self._trial = on_node(trial)
        if trial.skip:
            return self._finish(trial, "skipped", None, trial.skip, [])
        self._warm_up(trial)
        cache = warm_dir(run_dir.parent, trial)  # the output dir: where a local run keeps it
        if cache is not None and self._stopped is None:
            self._filled = fill(trial, cache, run_dir / "tmp", on_spawn=self._spawned)
            self._children.clear()
        self._scratch = scratch_dir(run_dir / "tmp", trial.trial_id)
        if self._stopped is not None:
            return self._finish(trial, "failed", None, "stopped by SIGTERM", [])
        launch = launcher_for(trial)
        outcome = launch(
            trial,
            self._scratch,
            run_dir / "logs" / f"{trial.trial_id}.log",
            cache_dir=cache,
            on_spawn=self._spawned,
        )
        self._children.clear()
        return self._finish(trial, outcome.status, outcome.exit_code, outcome.error, outcome.events)

    def checkpoint(self) -> DelayedSubmission | None:
        """The scheduler's signal: stop the trial, record the attempt, rerun it whole (or, at the
        job's time limit, end it as `timeout`)."""
        self._kill_children()
        trial = self._trial
        if trial is None:  # not started yet: nothing to record, run it again
            return DelayedSubmission(self)
        events = read_events(self._scratch / "events.jsonl") if self._scratch else []
        ran = time.time() - self._began
        limit = self.time_limit_s
        if limit and ran >= timeout_after_s(limit, self.signal_delay_s):
            self._finish(trial, "timeout", None, f"the job's time limit ([launcher] time_min = "
                         f"{limit / 60:g} min) came after {ran:.0f} s; raise time_min",
                         events)  # fmt: skip
            return None
        why = f"preempted on {socket.gethostname()} after {ran:.0f} s; requeued to run whole"
        self._record_attempt(trial, why, events)
        args = (self.trial_path, self.run_dir, self.time_limit_s, self.attempt + 1, self.warmup,
                self.signal_delay_s)  # fmt: skip
        return DelayedSubmission(TrialJob(*args))

    def _record_attempt(self, trial: Trial, error: str, events: list) -> None:
        """This attempt as `preempted` (`parts/<trial_id>-a<N>.json`, log `<trial_id>-a<N>`)."""
        run_dir = Path(self.run_dir)
        number = len(parts.attempts(run_dir, trial.trial_id))
        tid = parts.attempt_id(trial.trial_id, number)
        log = run_dir / "logs" / f"{trial.trial_id}.log"
        if log.exists():
            os.replace(log, run_dir / "logs" / f"{tid}.log")
        doc = self._doc(dataclasses.replace(trial, trial_id=tid), "preempted", None, error, events)
        parts.write_json(parts.attempt(run_dir, trial.trial_id, number), doc)

    def _terminated(self, signum: int, frame: Any) -> None:
        """SIGTERM: Slurm requeues or ends this job. Stop the children; record nothing final
        (`_finish` then records the attempt, if Slurm requeued the job)."""
        self._stopped = time.time()
        self._kill_children()

    def _kill_children(self) -> None:
        for child in self._children:  # the trial's child, or each rank of a data-parallel one
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, signal.SIGKILL)

    def _spawned(self, pid: int) -> None:
        self._children.append(pid)
        if self._stopped is not None:  # started just as SIGTERM came: it must not run
            self._kill_children()

    def _warm_up(self, trial: Trial) -> None:
        """`[sweep] warmup` untimed trials on this node before the timed one (its file cache is
        this job's business: the node may be fresh), recorded in the part (`warmup`)."""
        if trial.framework == "fake":  # the scripted fake runner imports nothing: nothing to warm
            return
        for i in range(self.warmup if self._stopped is None else 0):
            self._warmed.append(run_warm_up(trial, i, Path(self.run_dir) / "tmp", self._spawned))
            self._children.clear()

    def _whereabouts(self) -> dict[str, Any]:
        job = os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID", "")
        return {"node": socket.gethostname(), "pid": os.getpid(), "job_id": job,
                "attempt": self.attempt, "started_unix": self._began}  # fmt: skip

    def _doc(self, trial: Trial, status: str, code: int | None, error: str, events: list) -> dict:
        return {"trial": trial.to_json(), "status": status, "exit_code": code, "error": error,
                "events": events, "attempt": self.attempt, "node": socket.gethostname(),
                "host": this_host(), "finished_unix": time.time()}  # fmt: skip

    def _finish(self, trial: Trial, status: str, code: int | None, error: str, events: list) -> str:
        if self._stopped is not None:  # SIGTERM: this outcome is not the trial's (docstring)
            if _requeued():
                ran = self._stopped - self._began
                self._record_attempt(trial, f"requeued by Slurm (scontrol requeue or preemption) "
                                     f"on {socket.gethostname()} after {ran:.0f} s; runs again "
                                     "whole", events)  # fmt: skip
            return "stopped"
        doc = self._doc(trial, status, code, error, events)
        if self._filled is not None:
            doc["cache_fill"] = self._filled
        if self._warmed:
            doc["warmup"] = self._warmed
        parts.write_json(parts.part(Path(self.run_dir), trial.trial_id), doc)
        return status


def _requeued() -> bool:
    """Whether Slurm requeued this job: its `Restarts` count is above the one it started with
    (`SLURM_RESTART_COUNT`); False outside Slurm or when `scontrol` does not answer."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return False
    try:
        done = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                              text=True, timeout=20)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    found = re.search(r"\bRestarts=(\d+)", done.stdout)
    return bool(found) and int(found[1]) > int(os.environ.get("SLURM_RESTART_COUNT") or 0)
