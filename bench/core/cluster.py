"""`bench run --launcher slurm | submitit-local`: one job per trial, one run folder per partition.

Each partition's trials form their own run (`<stamp>-<name>-<partition>`), all with the same
`sweep_id` in run.json; the run's host fingerprint is the node's (from the first finished job).
The parent writes `jobs/<trial_id>.json` and `launcher.json` (job ids), submits, then — unless
`--detach` — watches the parts come in, merging each into the tables as it arrives
(`bench.core.collect`). With `slurm` every partition's trials go in as one job array
(`executor.batch()`); with `submitit-local` the jobs are submitted one after another, each when
the previous one has ended, so that timed trials never overlap on this machine.

Planning for Slurm happens where no node is: `devices = ["cpu"]` is the job's CPU, `["cuda"]`
is `cuda:0` of the job's own allocation (`gpus_per_node` GPUs); the name and UUID are read on
the node. A data-parallel trial's ranks take cuda:0 … cuda:N−1 of the allocation (world size
default: `gpus_per_node`), their UUIDs also read on the node, where the job runs the rank
supervisor as a local run does. Threads default to `cpus_per_task`.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

from bench.contract.trial import Trial
from bench.core.collect import collect, trials_of
from bench.core.config import Config
from bench.core.jobs import ALIVE, ClusterRun, Submitted, ask_slurm, job_id, job_state
from bench.core.plan import plan
from bench.core.results import utc_now
from bench.core.sweep import Display, RunFolder, RunResult, create_run, missing_framework
from bench.errors import UsageError
from bench.hardware.devices import Device, default_threads
from bench.launchers import parts
from bench.launchers.slurm import check_folder, check_time, make_executor

POLL_S = 1.0


def cluster_trials(config: Config) -> list[Trial]:
    """The sweep planned for Slurm nodes (see the module docstring)."""
    from bench.core.sweep import planned_trials
    from bench.launchers.submitit_job import ON_NODE

    launcher = config.launcher
    check_time(launcher.time_min, str(config.source))
    if launcher.kind != "slurm":
        return planned_trials(config)
    cpu = Device("cpu", "cpu", ON_NODE, None, 0, "")
    gpu = Device("cuda:0", "cuda", ON_NODE, 0, 0, "")
    chosen: list[Device] = []
    for name in config.sweep.devices:
        if name in ("cpu", "auto"):
            chosen.append(cpu)
        if name in ("cuda", "cuda:0") or (name == "auto" and launcher.gpus_per_node):
            chosen.append(gpu)
        elif name not in ("cpu", "auto"):
            raise UsageError(
                f"{config.source}: [sweep] devices: {name!r} cannot be planned for Slurm, where "
                "each job gets its own devices: use cpu, cuda (cuda:0 of each job's GPUs) or auto."
            )
    if gpu in chosen and not launcher.gpus_per_node:
        raise UsageError(
            f"{config.source}: [sweep] devices asks for a GPU but [launcher] gpus_per_node = 0: "
            "set gpus_per_node = 1 so that each job gets a GPU."
        )
    others = [dataclasses.replace(gpu, name=f"cuda:{i}", index=i)
              for i in range(1, launcher.gpus_per_node)] if gpu in chosen else []  # fmt: skip
    unique = list(dict.fromkeys(chosen + others))
    ranks_only = frozenset(d.name for d in others)  # data-parallel ranks, never single trials
    return plan(config, unique, launcher.cpus_per_task or default_threads(), ranks_only)


def submitit_folder(config: Config) -> Path:
    return Path(config.launcher.folder or Path(config.output.dir) / "submitit").resolve()


def check_folders(config: Config) -> None:
    """The jobs write the run folder and submitit's folder: both writable, and for Slurm on a
    file system every node of the partitions sees (`bench.launchers.slurm.check_folder`)."""
    from bench.launchers.slurm_queue import partition_nodes

    nodes = partition_nodes(config.launcher.partitions) if config.launcher.kind == "slurm" else None
    shared = config.launcher.kind == "slurm"
    check_folder("[output] dir", Path(config.output.dir), shared, nodes=nodes)
    check_folder("[launcher] folder", submitit_folder(config), shared, nodes=nodes)


def cluster_run(folder: RunFolder, config: Config, trials: dict[str, Trial]) -> ClusterRun:
    launcher = config.launcher
    return ClusterRun(folder, launcher.kind, trials, poll_s=launcher.poll_s,
                      lost_after_s=launcher.lost_after_s)  # fmt: skip


def partitions(config: Config) -> list[str]:
    return list(config.launcher.partitions) or [""]


def open_runs(config: Config, argv: list[str], trials: list[Trial]) -> list[ClusterRun]:
    """A run folder per partition, with the planned trials and launcher.json written."""
    sweep_id = utc_now()
    runs = []
    for partition in partitions(config):
        name = "-".join(filter(None, [config.output.name, partition]))
        named = dataclasses.replace(config, output=dataclasses.replace(config.output, name=name))
        folder = create_run(named, argv, trials)
        folder.meta.update(sweep_id=sweep_id, partition=partition, launcher=config.launcher.kind)
        folder.meta["submit_host"] = folder.meta.pop("host")
        for trial in trials:
            parts.write_json(parts.trial_json(folder.path, trial.trial_id), trial.to_json())
        run = cluster_run(folder, config, {t.trial_id: t for t in trials})
        _write_launcher(run, config, partition)
        runs.append(run)
    return runs


def _write_launcher(run: ClusterRun, config: Config, partition: str) -> None:
    doc = {"kind": config.launcher.kind, "partition": partition,
           "submitit_folder": str(submitit_folder(config)),
           "jobs": {tid: job_id(job) for tid, job in run.jobs.items() if job_id(job)}}  # fmt: skip
    old = parts.read_json(run.folder.path / parts.LAUNCHER_FILE) or {}
    doc["jobs"] = {**old.get("jobs", {}), **doc["jobs"]}
    doc["merged"] = {**old.get("merged", {}), **run.merged_mtime}
    parts.write_json(run.folder.path / parts.LAUNCHER_FILE, doc)
    run.folder.writer.write_meta(run.folder.meta)


def _job(run: ClusterRun, config: Config, trial: Trial) -> Any:
    from bench.launchers.submitit_job import TrialJob

    path = parts.trial_json(run.folder.path, trial.trial_id)
    time_limit_s = config.launcher.time_min * 60.0
    return TrialJob(str(path), str(run.folder.path), time_limit_s, warmup=config.sweep.warmup)


def _skip(run: ClusterRun, todo: list[Trial]) -> list[Trial]:
    """Record the trials that cannot run (as `bench run` does) and return the others."""
    from bench.core.collect import merge_part

    rest = []
    for trial in todo:
        why = trial.skip or missing_framework(trial.framework, trial.backend)
        if not why:
            rest.append(trial)
            continue
        doc = {"trial": trial.to_json(), "status": "skipped", "exit_code": None, "error": why,
               "events": [], "node": "", "host": run.folder.meta.get("host")}  # fmt: skip
        parts.write_json(parts.part(run.folder.path, trial.trial_id), doc)
        run.fresh.append(merge_part(run, trial, doc))
        run.merged.add(trial.trial_id)
    return rest


def submit(run: ClusterRun, config: Config, todo: list[Trial], display: Display) -> None:
    """Submit the trials of one partition (Slurm: one job array); submitit-local runs them here
    one after another and merges each as it ends."""
    partition = run.folder.meta.get("partition", "")
    executor = make_executor(config.launcher, submitit_folder(config), partition)
    todo = _skip(run, todo)
    if run.kind == "slurm":
        if not todo:  # an empty batch only makes submitit warn
            return
        with executor.batch():
            jobs = [executor.submit(_job(run, config, trial)) for trial in todo]
        run.jobs.update({t.trial_id: job for t, job in zip(todo, jobs, strict=True)})
        _write_launcher(run, config, partition)
        return
    for trial in todo:
        display.trial_started(trial)
        run.jobs[trial.trial_id] = job = executor.submit(_job(run, config, trial))
        _write_launcher(run, config, partition)
        try:
            while not job.done():
                time.sleep(0.2)
        except KeyboardInterrupt:
            job.cancel(check=False)
            raise
        for row in collect(run):
            display.trial_done(row)


def wait(runs: list[ClusterRun], display: Display, poll_s: float = POLL_S) -> None:
    """Merge parts as they come until every submitted trial of every run has its row."""
    said = {id(run): "" for run in runs}
    while any(set(r.jobs) - r.merged for r in runs):
        for run in runs:
            for row in collect(run):
                display.trial_done(row)
            if run.unanswered != said[id(run)] and run.unanswered:
                display.note(f"Slurm does not answer ({run.unanswered}); its jobs count as "
                             "queued or running until it does")  # fmt: skip
            said[id(run)] = run.unanswered
        time.sleep(poll_s)


def result_of(run: ClusterRun, interrupted: bool) -> RunResult:
    rows = [r for r in run.fresh if r.trial_id in run.trials]
    run.folder.meta.update(finished_utc=utc_now(), interrupted=interrupted)
    run.folder.writer.write_meta(run.folder.meta)
    shutil.rmtree(run.folder.path / "tmp", ignore_errors=True)
    fresh = {r.trial_id for r in rows}
    earlier = [r for r in run.folder.writer.rows["trials.csv"] if r.trial_id not in fresh]
    return RunResult(run.folder.run_id, run.folder.path, rows, interrupted, earlier)


def rejoin(run: ClusterRun, run_dir: Path) -> None:
    """A Slurm run's jobs, by the ids in launcher.json, and which parts were merged (the
    mtimes it records); Slurm is asked about them now."""
    doc = parts.read_json(run_dir / parts.LAUNCHER_FILE) or {}
    run.merged_mtime.update(doc.get("merged", {}))
    if run.kind != "slurm":
        return
    run.jobs = {tid: Submitted(jid) for tid, jid in doc.get("jobs", {}).items() if jid}
    ask_slurm(run, force=True)


def reopen(run_dir: Path, argv: list[str]) -> tuple[Config, ClusterRun, list[Trial]]:
    """`--resume` of a cluster run: merge what its jobs finished (and parts newer than their
    rows); the trials to submit again are those without a result (never submitted, job lost or
    cancelled) or interrupted, whose job is not still alive in Slurm."""
    from bench.core import config as config_mod
    from bench.core.recipe import check_unchanged
    from bench.core.results import RunWriter
    from bench.core.resume import read_meta, repaired

    meta = read_meta(run_dir)
    doc = {k: v for k, v in meta["config"].items() if k != "source"}
    config = config_mod.parse(doc, f"{run_dir / 'run.json'} (recorded config)")
    writer = RunWriter(run_dir)
    left = writer.load()
    run = cluster_run(RunFolder(meta["run_id"], run_dir, writer, meta), config, trials_of(run_dir))
    check_unchanged(meta.get("recipe"), list(run.trials.values()), f"{run_dir} (--resume)")
    rejoin(run, run_dir)  # Slurm is asked before the parts are read
    redo = {r.trial_id for r in writer.rows["trials.csv"] if r.status == "interrupted"}
    lost = [r.trial_id for r in writer.rows["trials.csv"] if r.trial_id in run.trials]
    redo |= {tid for tid in lost if not parts.part(run_dir, tid).exists()}
    writer.drop(redo)
    repaired(meta, left, redo)
    run.merged = {r.trial_id for r in writer.rows["trials.csv"]}
    collect(run, finished_only=True)
    waiting = {tid for tid in run.trials if tid not in run.merged and job_state(run, tid) in ALIVE}
    run.jobs = {tid: job for tid, job in run.jobs.items() if tid in waiting}
    run.jobs.update({tid: None for tid in waiting - set(run.jobs)})
    todo = [t for tid, t in run.trials.items() if tid not in run.merged and tid not in waiting]
    meta.setdefault("resumed", []).append({"utc": utc_now(), "command": argv, "trials": len(todo)})
    return config, run, todo
