"""`bench run` with `--launcher slurm | submitit-local`: submit, watch (or `--detach`), finish.

The sweep itself is `bench.core.cluster`; this module is the command line around it: the
folder checks, the dry run (the plan, submitit's parameters and a plain sbatch script per
partition), the progress display, and the same end-of-run summary and report as `bench run`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cli.run_flags import DEFAULT_CONFIG, overrides
from bench.core.resume import nothing_to_resume
from bench.errors import UsageError
from bench.launchers import stops

# `bench.cli.run._finish`: the end-of-run summary, failures and report.
Finish = Callable[[argparse.Namespace, Any, Any], None]


def dry_run_text(args: argparse.Namespace, cfg: Any, trials: list) -> str:
    """Per partition: the submitit parameters, and the plain sbatch alternative."""
    from bench.core.cluster import partitions
    from bench.launchers.slurm import sbatch_script, slurm_parameters

    if cfg.launcher.kind != "slurm":
        return f"launcher: {cfg.launcher.kind} (one job per trial, one after another, here)"
    lines = []
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    out, name = Path(cfg.output.dir), cfg.output.name
    for partition in partitions(cfg):
        params = slurm_parameters(cfg.launcher, partition)
        lines.append(f"partition {partition or '(default)'}: {len(trials)} jobs, one per trial, "
                     f"as a job array; submitit parameters: {params}")  # fmt: skip
        lines.append("  without submitit, this job script runs the same sweep on one node:")
        flags = script_flags(args)
        script = sbatch_script(cfg.launcher, partition, config, flags, out, name, len(trials))
        lines += ["    " + line for line in script.splitlines()]
    return "\n".join(lines)


#: flags the job script sets itself: where results go, under which name, launched how
SCRIPT_SETS = {"out": "output.dir", "name": "output.name", "launcher": "launcher.kind",
               "partitions": "launcher.partitions"}  # fmt: skip


def script_flags(args: argparse.Namespace) -> list[str]:
    """The user's `run` flags and `--set`s, as the job script passes them on (less those it
    sets itself), each one argument: `--epochs=6`, `--set`, `train.samples=3200`."""
    flags = []
    for flag in overrides():
        text = getattr(args, flag, None)
        if text is not None and flag not in SCRIPT_SETS:
            text = ",".join(text) if isinstance(text, list) else text
            flags.append(f"--{flag.replace('_', '-')}={text}")
    for item in getattr(args, "set", None) or []:
        if item.partition("=")[0].strip() not in SCRIPT_SETS.values():
            flags += ["--set", item]
    return flags


def run_cluster(
    args: argparse.Namespace, cfg: Any, argv: list[str], display: Any, finish: Finish
) -> int:
    """Plan, open one run per partition, submit; wait unless --detach; summary and report."""
    from bench.core import cluster

    if args.detach and cfg.launcher.kind != "slurm":
        raise UsageError(
            "--detach needs --launcher slurm: with submitit-local the trials run one after "
            "another from this process, which must stay to start each."
        )
    cluster.check_folders(cfg)
    trials = cluster.cluster_trials(cfg)
    runs = cluster.open_runs(cfg, argv, trials)
    todo = {run.folder.run_id: trials for run in runs}
    return _drive(args, cfg, runs, todo, display, finish)


def resume_cluster(
    args: argparse.Namespace, run_dir: Path, argv: list[str], display: Any, finish: Finish
) -> int:
    """`--resume` of a cluster run: collect, re-submit only what has no result, wait."""
    from bench.core import cluster

    cfg, run, todo = cluster.reopen(run_dir, argv)
    if not (todo or run.jobs or run.fresh):
        display.console.print(nothing_to_resume(run.folder))
        return 0
    cluster.check_folders(cfg)
    display.note(f"resuming {run_dir}: {len(todo)} trial(s) to submit again, "
                 f"{len(run.jobs)} still queued or running")  # fmt: skip
    return _drive(args, cfg, [run], {run.folder.run_id: todo}, display, finish)


def _drive(
    args: argparse.Namespace, cfg: Any, runs: list, todo: dict, display: Any, finish: Finish
) -> int:
    from bench.core import cluster

    everything = [t for run in runs for t in todo[run.folder.run_id]]
    where = runs[0].folder.path if len(runs) == 1 else runs[0].folder.path.parent
    display.start(where, everything)
    interrupted = False
    try:
        for run in runs:
            cluster.submit(run, cfg, todo[run.folder.run_id], display)
        if not args.detach:
            cluster.wait(runs, display)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        display.stop()
    if args.detach or (interrupted and cfg.launcher.kind == "slurm"):
        for run in runs:
            display.console.print(
                f"{len(run.jobs)} job(s) submitted for {run.folder.path}; watch them with "
                f"`bench status {run.folder.path}`, collect them with "
                f"`bench run --resume {run.folder.path}`"
            )
        return stops.exit_code() if interrupted else 0
    codes = []
    for run in runs:
        result = cluster.result_of(run, interrupted)
        finish(args, display, result)
        codes.append(result.exit_code)
    return max(codes)
