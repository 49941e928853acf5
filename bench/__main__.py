"""Command line: `bench run|status|report|compare|devices|models|calibrate|selfcheck|doctor` (also
`python -m bench ...`; `bench` alone prints the help, `bench --version` the versions).

Argparse only: each subcommand names a plain function `bench.cli.<module>.<function>(args)`,
imported when it runs, so `--help` imports no framework and nothing heavy. User errors exit with
code 2 and one paragraph on stderr, never a traceback; Ctrl-C exits with 130. Flags are never
abbreviated (`--mode` is not `--models`), and `--help` shows each default.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from bench.cli.flags import Version, deprecate, parser_options
from bench.cli.run_flags import add_run_arguments
from bench.errors import UsageError


def _command(parser: argparse.ArgumentParser, target: str) -> None:
    """Route `parser`'s subcommand to `target`, "module:function" under bench.cli."""
    parser.set_defaults(target=target)


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="run the sweep in bench.toml (each trial in a fresh process)",
        **parser_options(),
    )
    add_run_arguments(run)
    _command(run, "run:run")
    status = sub.add_parser(
        "status",
        help="each trial of a cluster run: queued, running, done or failed",
        **parser_options(),
    )
    status.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run of --launcher slurm")
    _command(status, "status:status")


def _add_analysis(sub: argparse._SubParsersAction) -> None:
    for name, text in (
        ("report", "write report.md, report.html and figures for run folders"),
        ("compare", "compare runs (ratio of medians, CI, Welch t-test) against the first"),
    ):
        rep = sub.add_parser(name, help=text, add_help=False, **parser_options())
        rep.add_argument("rest", nargs=argparse.REMAINDER, help="RUN_DIR... [--out DIR]")
        _command(rep, "report:analysis")


def _add_models(sub: argparse._SubParsersAction) -> None:
    mod = sub.add_parser(
        "models", help="list models, show one's layer table, or --verify them", **parser_options()
    )
    mod.add_argument("names", nargs="*", metavar="NAME", help="a model (layer table) or models")
    mod.add_argument(
        "--verify",
        action="store_true",
        help="build in every installed framework (child process) and prove they match",
    )
    mod.add_argument(
        "--format", choices=("table", "csv"), default="table", help="--verify output format"
    )
    mod.add_argument(
        "--full-size", action="store_true", help="--verify big models at full input size (slow)"
    )
    mod.add_argument(
        "--config", type=Path, help="its [models] section adds your models (default: ./bench.toml)"
    )
    mod.add_argument(
        "--model-file",
        action="append",
        metavar="A,B,...",
        help="spec files of your models, overriding [models] files (repeatable)",
    )
    _command(mod, "models:models")


def _add_calibrate(sub: argparse._SubParsersAction, argv: list[str] | None) -> None:
    cal = sub.add_parser(
        "calibrate",
        help="measure achievable matmul FLOP/s per framework and device (for MFU)",
        **parser_options(),
    )
    if argv is None or argv[:1] == ["calibrate"]:  # its flags cost an import; only when used
        from bench.cli.calibrate import add_arguments

        add_arguments(cal)
    _command(cal, "calibrate:main")


def _add_selfcheck(sub: argparse._SubParsersAction) -> None:
    chk = sub.add_parser(
        "selfcheck",
        help="harness vs bare loop: steady-epoch ratio per framework",
        **parser_options(),
    )
    chk.add_argument(
        "--frameworks", default="torch,keras", metavar="A,B", help="torch, keras, numpy"
    )
    chk.add_argument("--models", default="seed_cnn", metavar="A,B", help="each is checked")
    chk.add_argument("--batch-sizes", default="64", metavar="A,B", help="each is checked")
    chk.add_argument("--samples", type=int, default=3200, help="per epoch")
    chk.add_argument("--epochs", type=int, default=6, help="per trial")
    chk.add_argument("--rounds", type=int, default=3, help="bare/harness pairs")
    chk.add_argument("--threads", type=int, default=None, help="default: physical cores")
    deprecate(chk, "--model", "--models", "models")
    deprecate(chk, "--batch-size", "--batch-sizes", "batch_sizes")
    _command(chk, "selfcheck:selfcheck")


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    doc = sub.add_parser(
        "doctor",
        help="what works here (framework × device) and the fix for what doesn't",
        **parser_options(),
    )
    from bench.cli.doctor import add_arguments

    add_arguments(doc)
    _command(doc, "doctor:doctor")


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench",
        description="Time the first and the steady epochs of CNNs in PyTorch and Keras.",
        **parser_options(),
    )
    p.add_argument("--version", action=Version)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    _add_analysis(sub)
    dev = sub.add_parser(
        "devices", help="list the devices that devices = ['auto'] would use", **parser_options()
    )
    _command(dev, "devices:devices")
    _add_models(sub)
    _add_calibrate(sub, argv)
    _add_selfcheck(sub)
    _add_doctor(sub)
    return p


def _call(args: argparse.Namespace) -> int:
    module, function = args.target.split(":")
    return getattr(importlib.import_module(f"bench.cli.{module}"), function)(args)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["report"], ["compare"]):  # the analysis package's own command line
        args = argparse.Namespace(command=argv[0], rest=argv[1:], target="report:analysis")
    else:
        args = parser(argv).parse_args(argv)
        if args.command is None:  # bare `bench`: the help, not an error
            parser(argv).print_help()
            return 0
    try:
        return _call(args)
    except UsageError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        from bench.launchers import stops

        print(f"bench: interrupted ({stops.reason()})", file=sys.stderr)
        return stops.exit_code()
    except BrokenPipeError:  # `bench ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
