"""`bench status RUN_DIR`: each trial of a cluster run — queued, running, done or failed.

Read from the run folder (the parts its jobs wrote, `bench.launchers.parts`) and, for Slurm,
the scheduler's job states (submitit asks `sacct`). It changes nothing: `bench run --resume
RUN_DIR` merges what finished and submits again what was lost.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bench.cli.flags import describe
from bench.errors import UsageError

STATES = ("queued", "running", "done", "failed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `status` subcommand's argument, description and examples."""
    describe(
        parser,
        "Each trial of a run started with --launcher slurm or submitit-local: queued, running, "
        "done or failed, from the files its jobs wrote and the scheduler's job states. Changes "
        "nothing: `bench run --resume RUN_DIR` collects what finished and resubmits what was lost.",
        [
            ("bench status results/20260101-120000-cluster", "the states of one cluster run"),
            ("watch -n 60 bench status results/20260101-120000-cluster", "every minute"),
        ],
    )
    parser.add_argument(
        "run_dir", type=Path, metavar="RUN_DIR", help="a run folder of --launcher slurm"
    )


def status(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.core.cluster import rejoin
    from bench.core.collect import ClusterRun, trial_state, trials_of
    from bench.core.results import RunWriter
    from bench.core.sweep import RunFolder
    from bench.launchers import parts

    run_dir = args.run_dir
    launcher = parts.read_json(run_dir / parts.LAUNCHER_FILE)
    meta = parts.read_json(run_dir / "run.json")
    if launcher is None or meta is None:
        raise UsageError(
            f"{run_dir}: not a run folder of bench run --launcher slurm or submitit-local (it "
            "has no readable launcher.json and run.json); bench status watches those runs."
        )
    folder = RunFolder(meta["run_id"], run_dir, RunWriter(run_dir), meta)
    run = ClusterRun(folder, launcher["kind"], trials_of(run_dir))
    rejoin(run, run_dir)
    table = Table(title=f"{run_dir} ({launcher['kind']}, partition "
                        f"{launcher.get('partition') or 'default'})")  # fmt: skip
    for head in ("trial", "state", "detail", "job"):
        table.add_column(head)
    counts: Counter[str] = Counter()
    for tid in run.trials:
        state, detail = trial_state(run, tid)
        counts[state] += 1
        table.add_row(tid, state, detail, launcher["jobs"].get(tid, ""))
    console = Console()
    console.print(table)
    console.print(", ".join(f"{counts[s]} {s}" for s in STATES))
    return 0
