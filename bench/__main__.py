"""Command line: `python -m bench run | devices | models | selfcheck`.

A thin layer: flags become config overrides (validated by `bench.config` exactly like
bench.toml keys) and each subcommand calls a plain function. Nothing here, nor anything it
imports before a trial starts, imports torch, tensorflow or keras. User errors exit with code 2
and one paragraph on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.errors import UsageError

DEFAULT_CONFIG = Path("bench.toml")

# flag → (section, key, value type, is a list); list flags take comma-separated values.
OVERRIDES: dict[str, tuple[str, str, type, bool]] = {
    "frameworks": ("sweep", "frameworks", str, True),
    "models": ("sweep", "models", str, True),
    "devices": ("sweep", "devices", str, True),
    "batch_sizes": ("sweep", "batch_sizes", int, True),
    "threads": ("sweep", "threads", int, True),
    "repeats": ("sweep", "repeats", int, False),
    "epochs": ("train", "epochs", int, False),
    "samples": ("train", "samples", int, False),
    "dataset": ("data", "dataset", str, False),
    "out": ("output", "dir", str, False),
    "name": ("output", "name", str, False),
}


def _item(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        return text  # left for config validation to reject with the key's rule


def _overrides(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The flags given, as config overrides by section, and their names for error messages."""
    out: dict[str, dict[str, Any]] = {}
    given = []
    for flag, (section, key, kind, is_list) in OVERRIDES.items():
        text = getattr(args, flag, None)
        if text is None:
            continue
        if is_list:
            value: Any = [_item(v.strip(), kind) for v in text.split(",") if v.strip()]
        else:
            value = _item(text.strip(), kind)
        out.setdefault(section, {})[key] = value
        given.append("--" + flag.replace("_", "-"))
    return out, given


def load_config(args: argparse.Namespace):
    from bench import config

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    overrides, flags = _overrides(args)
    return config.load(path, overrides, flags)


def cmd_run(args: argparse.Namespace) -> int:
    from bench import sweep
    from bench.progress import Display, summary_table

    argv = ["python", "-m", "bench", *sys.argv[1:]]
    if args.resume is not None:
        from bench.resume import reopen

        given = [f for f in [*OVERRIDES, "config"] if getattr(args, f, None) is not None]
        if given:
            raise UsageError(
                "--resume runs the recorded config of the run folder; drop "
                + ", ".join("--" + f.replace("_", "-") for f in given)
                + "."
            )
        cfg, trials, folder = reopen(args.resume, argv)
    else:
        cfg = load_config(args)
        trials = sweep.planned_trials(cfg)
        folder = None
    if args.dry_run:
        print(dry_run_text(trials))
        return 0
    display = Display()
    folder = folder or sweep.create_run(cfg, argv, trials)
    result = sweep.run(cfg, trials, folder, display)
    display.console.print(summary_table(result.trials))
    if result.interrupted:
        display.console.print("interrupted: the trials finished so far are saved.")
    failed = [t.trial_id for t in result.trials if t.status not in ("ok", "skipped")]
    if failed:
        display.console.print(f"{len(failed)} trial(s) did not finish: {', '.join(failed)}")
    display.console.print(f"results: {result.run_dir}")
    if not args.no_report:
        display.console.print(write_report(result.run_dir))
    return result.exit_code


def write_report(run_dir: Path) -> str:
    """The run's report (analysis package); a line saying where it is, or why there is none."""
    from analysis import missing_dependencies

    if missing := missing_dependencies():
        return (
            f"report: skipped ({', '.join(missing)} not installed: pip install -e '.[analysis]'); "
            f"later: python -m bench report {run_dir}"
        )
    from analysis.load import AnalysisError
    from analysis.report import write_report as write

    try:
        files = write([run_dir])
    except AnalysisError as exc:
        return f"report: not written: {exc}"
    except Exception as exc:  # a report bug must not cost the run its exit code or its rows
        return f"report: failed ({type(exc).__name__}: {exc}); the results are complete"
    html = [f for f in files if f.name == "report.html"]
    return f"report: {html[0] if html else run_dir}"


def cmd_analysis(args: argparse.Namespace) -> int:
    """`bench report` / `bench compare`: the analysis package's own command line."""
    from analysis.__main__ import main as analysis_main

    prefix = ["compare"] if args.command == "compare" else []
    return analysis_main([*prefix, *args.rest])


def dry_run_text(trials: list) -> str:
    from bench.sweep import missing_framework

    lines = [f"{len(trials)} trials planned (each in a fresh process):"]
    for t in trials:
        why = t.skip or missing_framework(t.framework, t.backend)
        lines.append(
            f"  {t.trial_id}: {t.framework}/{t.backend}/{t.mode} {t.model}"
            f" {'x'.join(map(str, t.input_shape))}"
            f" on {t.device} ({t.device_name}), batch {t.batch_size}, {t.threads} threads,"
            f" {t.epochs} epochs × {t.steps_per_epoch} steps"
            + (f"  [skipped: {why}]" if why else "")
        )
    return "\n".join(lines)


def cmd_devices(args: argparse.Namespace) -> int:
    from bench import devices

    print(devices.format_table(devices.discover()))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from bench.models_cli import describe, listing

    if args.verify:
        from bench.verify_cli import verify

        return verify(args.names, args.full_size, args.format)
    if len(args.names) > 1:
        raise UsageError("models: name one model for its layer table, or use --verify.")
    print(describe(args.names[0]) if args.names else listing())
    return 0


def calibrate_args(parser: argparse.ArgumentParser) -> None:
    from bench.calibrate import add_arguments

    add_arguments(parser)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from bench.calibrate import main as calibrate_main

    return calibrate_main(args)


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from bench.selfcheck import selfcheck

    return selfcheck(args)


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time the first and the steady epochs of CNNs in PyTorch and Keras.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the sweep in bench.toml (each trial in a fresh process)")
    run.add_argument("--config", type=Path, help="config file (default: ./bench.toml if present)")
    for flag, (section, key, _kind, is_list) in OVERRIDES.items():
        dashed = "--" + flag.replace("_", "-")
        meta = "A,B,..." if is_list else "VALUE"
        run.add_argument(dashed, metavar=meta, help=f"override [{section}] {key}")
    run.add_argument("--dry-run", action="store_true", help="print the planned trials and exit")
    run.add_argument(
        "--no-report", action="store_true", help="do not write report.md/.html at the end"
    )
    run.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="finish an interrupted run: run its missing and interrupted trials, same config",
    )
    run.set_defaults(func=cmd_run)

    for name, text in (
        ("report", "write report.md, report.html and figures for run folders"),
        ("compare", "compare runs (ratio of medians, CI, Mann-Whitney) against the first"),
    ):
        rep = sub.add_parser(name, help=text, add_help=False)
        rep.add_argument("rest", nargs=argparse.REMAINDER, help="RUN_DIR... [--out DIR]")
        rep.set_defaults(func=cmd_analysis)

    dev = sub.add_parser("devices", help="list the devices that devices = ['auto'] would use")
    dev.set_defaults(func=cmd_devices)

    mod = sub.add_parser("models", help="list models, show one's layer table, or --verify them")
    mod.add_argument("names", nargs="*", metavar="NAME", help="a model (layer table) or models")
    mod.add_argument(
        "--verify",
        action="store_true",
        help="build in every installed framework (child process) and prove they match",
    )
    mod.add_argument("--format", choices=("table", "csv"), default="table", help="--verify output")
    mod.add_argument(
        "--full-size", action="store_true", help="--verify big models at full input size (slow)"
    )
    mod.set_defaults(func=cmd_models)

    cal = sub.add_parser(
        "calibrate", help="measure achievable matmul FLOP/s per framework and device (for MFU)"
    )
    if argv is None or argv[:1] == ["calibrate"]:  # its flags cost an import; only when used
        calibrate_args(cal)
    cal.set_defaults(func=cmd_calibrate)

    chk = sub.add_parser("selfcheck", help="harness vs bare loop: steady-epoch ratio per framework")
    chk.add_argument(
        "--frameworks", default="torch,keras", metavar="A,B", help="default: %(default)s"
    )
    chk.add_argument("--model", default="seed_cnn", help="default: %(default)s")
    chk.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    chk.add_argument("--samples", type=int, default=3200, help="per epoch; default: %(default)s")
    chk.add_argument("--epochs", type=int, default=6, help="default: %(default)s")
    chk.add_argument(
        "--rounds", type=int, default=3, help="bare/harness pairs; default: %(default)s"
    )
    chk.add_argument("--threads", type=int, default=None, help="default: physical cores")
    chk.set_defaults(func=cmd_selfcheck)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["report"], ["compare"]):  # the analysis package's own command line
        return cmd_analysis(argparse.Namespace(command=argv[0], rest=argv[1:]))
    args = parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
