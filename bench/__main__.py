"""Command line: `bench run|status|report|compare|devices|models|calibrate|selfcheck|doctor` (also
`python -m bench ...`; `bench` alone prints the help, `bench --version` the versions).

Argparse and the command table only: each subcommand names the module under `bench/cli/` whose
function builds its flags and the plain function `bench.cli.<module>.<function>(args)` that runs
it. Both are imported only for the subcommand on the command line, so `bench --help` imports
nothing but argparse, this table and `bench.cli.flags` (tests/test_startup.py). User errors exit
with code 2 and one paragraph on stderr, never a traceback; a mistyped command, flag or choice
gets a "did you mean"; Ctrl-C exits with 130. Flags are never abbreviated (`--mode` is not
`--models`), and `--help` shows each default and examples.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from bench.cli.flags import Parser, Version, parser_options
from bench.errors import UsageError

#: name → (one line for `bench --help`, "module:function" that adds its flags, "module:function"
#: that runs it), modules under bench.cli.
COMMANDS = {
    "run": (
        "run the sweep in bench.toml (each trial in a fresh process)",
        "run_flags:add_run_arguments",
        "run:run",
    ),
    "status": (
        "each trial of a cluster run: queued, running, done or failed",
        "status:add_arguments",
        "status:status",
    ),
    "report": (
        "write report.md, report.html and figures for run folders",
        "report:add_report_arguments",
        "report:report",
    ),
    "compare": (
        "compare runs (ratio of medians, CI, Welch t-test) against the first",
        "report:add_compare_arguments",
        "report:compare",
    ),
    "devices": (
        "list the devices that devices = ['auto'] would use, or why there is no GPU",
        "devices:add_arguments",
        "devices:devices",
    ),
    "models": (
        "list models, show one's layer table, or --verify them",
        "models:add_arguments",
        "models:models",
    ),
    "calibrate": (
        "measure achievable matmul FLOP/s per framework and device (for MFU)",
        "calibrate:add_arguments",
        "calibrate:main",
    ),
    "selfcheck": (
        "harness vs bare loop: steady-epoch ratio per framework",
        "selfcheck:add_arguments",
        "selfcheck:selfcheck",
    ),
    "doctor": (
        "what works here (framework × device) and the fix for what doesn't",
        "doctor:add_arguments",
        "doctor:doctor",
    ),
}
EPILOG = """examples:
  bench run --dry-run                         # the planned trials of ./bench.toml, run nothing
  bench run --frameworks torch --devices cpu  # time torch on the CPU
  bench doctor                                # what works here, and the fix for what doesn't
  bench COMMAND --help                        # a command's flags, defaults and examples"""


def _function(target: str) -> object:
    """`bench.cli.<module>.<function>` for "module:function"."""
    module, function = target.split(":")
    return getattr(importlib.import_module(f"bench.cli.{module}"), function)


def command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line: its first word that is not a flag."""
    return next((word for word in argv if not word.startswith("-")), None)


def parser(argv: list[str] | None = None) -> Parser:
    """`bench`'s parser. Only the subcommand in `argv` gets its flags (building one costs imports);
    `argv` None builds every subcommand's, for tests and docs that walk them."""
    wanted = None if argv is None else command_of(argv)
    p = Parser(
        prog="bench",
        description="Time the first and the steady epochs of CNNs in PyTorch and Keras.",
        epilog=EPILOG,
        **parser_options(),
    )
    p.add_argument("--version", action=Version)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (summary, build, run) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, **parser_options())
        command.set_defaults(target=run)
        if argv is None or name == wanted:
            _function(build)(command)
    return p


def subparsers(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name."""
    action = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser(argv).parse_args(argv)
    if args.command is None:  # bare `bench`: the help, not an error
        parser(argv).print_help()
        return 0
    try:
        return _function(args.target)(args)
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
