"""`python -m bench run`: flags → config overrides → plan → sweep → summary and report.

Flags become config overrides, validated by `bench.core.config` exactly like bench.toml keys;
`--resume` reopens an interrupted run folder instead; `--dry-run` prints the plan. Nothing here
imports a framework.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cli.flags import set_overrides, typed
from bench.cli.run_flags import DEFAULT_CONFIG, overrides
from bench.core.resume import nothing_to_resume
from bench.errors import UsageError

#: The settings a dry-run line names before epochs and steps; the other labelled ones follow.
FIRST = ("batch_size", "threads")
NOTES = {"parallel": " (batch per replica)"}  # what a data-parallel trial's batch size means


def _overrides(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The flags given, as config overrides by section, and their names for error messages.
    Values are typed by the key's rule as `--set` types them; the config then checks them."""
    out: dict[str, dict[str, Any]] = {}
    given = []
    for flag, (section, key, kind) in overrides().items():
        text = getattr(args, flag, None)
        if text is None:
            continue
        text = ",".join(text) if isinstance(text, list) else text
        out.setdefault(section, {})[key] = typed(text.strip(), kind)
        given.append("--" + flag.replace("_", "-"))
    for section, keys in set_overrides(getattr(args, "set", None) or []).items():
        out.setdefault(section, {}).update(keys)
        given += [f"--set {section}.{key}" for key in keys]
    return out, given


def load_config(args: argparse.Namespace):
    from bench.core import config

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    overrides, flags = _overrides(args)
    return config.load(path, overrides, flags)


def _reopen(args: argparse.Namespace, argv: list[str], check_only: bool = False):
    """`--resume RUN_DIR`: the recorded config, the trials still to run, the open folder."""
    from bench.core.resume import reopen

    given = [f for f in [*overrides(), "config", "set"] if getattr(args, f, None) is not None]
    if given:
        raise UsageError(
            "--resume runs the recorded config of the run folder; drop "
            + ", ".join("--" + f.replace("_", "-") for f in given)
            + "."
        )
    return None if check_only else reopen(args.resume, argv)


def run(args: argparse.Namespace) -> int:
    """Plan and run the sweep (or print the plan); 0 ok, 1 a trial failed, 130 / 143 / 129
    stopped by Ctrl-C / SIGTERM / SIGHUP."""
    from rich.console import Console

    from bench.cli.progress import Display
    from bench.core import sweep
    from bench.core.eta import Eta, earlier_durations
    from bench.launchers import stops

    argv = ["python", "-m", "bench", *sys.argv[1:]]
    stops.catch()  # SIGTERM / SIGHUP stop the run as Ctrl-C does: recorded, resumable
    if args.resume is not None and (args.resume / "launcher.json").exists():
        return _launch(args, argv, None)
    if args.resume is not None:
        cfg, trials, folder = _reopen(args, argv)
        if not trials:  # exits as the run does: 1 while it holds a failed trial
            print(nothing_to_resume(folder))
            rows = folder.writer.rows["trials.csv"]
            return sweep.RunResult(folder.run_id, folder.path, earlier=rows).exit_code
    else:
        cfg = load_config(args)
        if cfg.launcher.kind != "local":
            return _launch(args, argv, cfg)
        if getattr(args, "detach", False):
            raise UsageError("--detach needs --launcher slurm (the local launcher runs the trials "
                             "from this process, which must stay).")  # fmt: skip
        trials, folder = sweep.planned_trials(cfg), None
    out = sys.stderr if args.json else sys.stdout
    if not args.quiet:
        print(f"config: {config_source(cfg)}", file=out)
        print(f"output: {folder.path if folder else Path(cfg.output.dir).resolve()}", file=out)
    eta = Eta(earlier_durations(Path(cfg.output.dir)))
    if args.dry_run:
        print(dry_run_text(trials), file=out)
        print(estimate_text(eta, [t for t in trials if not t.skip]), file=out)
        check_factories(trials)
        return 0
    console = Console(stderr=True) if args.json else None
    display = Display(console, verbosity=args.verbose - args.quiet, eta=eta)
    folder = folder or sweep.create_run(cfg, argv, trials)
    result = sweep.run(cfg, trials, folder, display)
    _finish(args, display, result)
    return result.exit_code


def _launch(args: argparse.Namespace, argv: list[str], cfg: Any) -> int:
    """`--launcher slurm | submitit-local` (or --resume of such a run): `bench.cli.launch`."""
    from rich.console import Console

    from bench.cli import launch
    from bench.cli.progress import Display
    from bench.core.cluster import cluster_trials

    if cfg is not None and args.dry_run:
        trials = cluster_trials(cfg)
        print(dry_run_text(trials), file=sys.stdout)
        print(launch.dry_run_text(args, cfg, trials), file=sys.stdout)
        check_factories(trials)
        return 0
    console = Console(stderr=True) if args.json else None
    display = Display(console, verbosity=args.verbose - args.quiet)
    if cfg is None:
        _reopen(args, argv, check_only=True)
        return launch.resume_cluster(args, args.resume, argv, display, _finish)
    return launch.run_cluster(args, cfg, argv, display, _finish)


def _finish(args: argparse.Namespace, display: Any, result: Any) -> None:
    """The end of a run: the summary (a table, or JSON on stdout), failures, the report."""
    import json
    from dataclasses import asdict

    from bench.cli.progress import configuration_table, summary_table
    from bench.cli.report import write_report
    from bench.core.summary import configurations, summary_document

    configs = configurations([asdict(row) for row in result.trials])
    console = display.console
    if not args.quiet and not args.json:
        if args.verbose:
            console.print(summary_table(result.trials))
        console.print(configuration_table(configs, console.width, bool(args.verbose)))
    if result.interrupted:
        console.print("interrupted: the trials finished so far are saved.")
    for line in problems(result):
        console.print(line)
    console.print(f"results: {result.run_dir}")
    if not args.no_report:
        console.print(write_report(result.run_dir))
    if args.json:
        document = summary_document(result.run_id, result.run_dir, configs)
        document["exit_code"] = result.exit_code
        print(json.dumps(document, indent=2))


def problems(result: Any) -> list[str]:
    """What keeps the run (with --resume: every trial of it) from exit code 0, one line each:
    trials that did not finish, trials whose framework is not installed, nothing measured."""
    from bench.core.sweep import FINISHED, not_installed

    rows = result.rows
    failed = [t.trial_id for t in rows if t.status not in FINISHED]
    lines = [f"{len(failed)} trial(s) did not finish: {', '.join(failed)}"] if failed else []
    missing = Counter(why for row in rows if (why := not_installed(row)))
    lines += [
        f"{n} trial(s) not run: {why}; install it, or leave it out of the sweep "
        "(--frameworks / --keras-backends)."
        for why, n in missing.items()
    ]
    if not result.interrupted and not any(t.status == "ok" for t in rows):
        lines.append(f"nothing was measured: none of the {len(rows)} trial(s) finished ok.")
    return lines


def estimate_text(eta: Any, trials: list) -> str:
    """The dry run's estimate of the sweep's duration, from this host's earlier runs."""
    if not trials:
        return "estimate: nothing to run"
    if not eta.covers(trials):
        return (
            "estimate: no estimate (no earlier run of every planned configuration on this host "
            "in the output folder)"
        )
    minutes = eta.remaining(trials) / 60
    return f"estimate: about {minutes:.1f} min, from this host's earlier runs"


def check_factories(trials: list) -> None:
    """The dry run's last word: a native model's factory that does not import is a usage error
    (imported in a child: `bench.core.factories`), not a failure inside each of its trials."""
    from bench.core.factories import factory_problems

    if problems := factory_problems(trials):
        raise UsageError("\n".join(problems))


def config_source(cfg: Any) -> str:
    """Where the config came from: the file (and the flags), or the built-in defaults."""
    return cfg.source.replace("(defaults)", "built-in defaults (no ./bench.toml)")


def dry_run_text(trials: list) -> str:
    """The planned trials, one line each: id, variant, model, shape, device, batch size and
    threads, epochs and steps, the other settings off their defaults (each setting as
    `bench.core.labels` writes it), and why a trial would be skipped."""
    from bench.core.labels import labelled, part, parts, row_of
    from bench.core.sweep import missing_framework

    rest = [c for c in labelled() if c not in (*FIRST, "repeat")]
    lines = [f"{len(trials)} trials planned (each in a fresh process):"]
    for t in trials:
        why = t.skip or missing_framework(t.framework, t.backend)
        row = row_of(t)
        lines.append(
            f"  {t.trial_id}: {t.framework}/{t.backend}/{t.mode} {t.model}"
            f" {'x'.join(map(str, t.input_shape))} on {t.device} ({t.device_name}), "
            + ", ".join(parts(FIRST, row))
            + f", {t.epochs} epochs × {t.steps_per_epoch} steps"
            + "".join(f", {p}" + NOTES.get(c, "") for c in rest if (p := part(c, row)))
            + (f"  [skipped: {why}]" if why else "")
        )
    return "\n".join(lines)
