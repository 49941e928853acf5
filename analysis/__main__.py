"""Command line: `python -m analysis RUN_DIR... [--dest DIR]` writes a report;
`python -m analysis compare RUN_A RUN_B [...] [--dest DIR]` compares runs against the first.
`bench report` and `bench compare` are the same commands, named `bench` in every message.

`--dest` is the exact folder the files are written to (`--out`, its old spelling, still works
with a warning: `bench run --out` names the folder that run folders are created in). Bad result
files exit with code 2 and one paragraph on stderr (`analysis: error: ...`), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from analysis import missing_dependencies

REPORT = (
    "Write report.md, a self-contained report.html and figures/*.png for bench run folders, "
    "analysed together; run folders of several machines add a Fleet section."
)
COMPARE = (
    "Compare runs against the first (the baseline): per aligned configuration, "
    "the ratio of medians over repeats with a 95% CI and the p-value of the same Welch "
    "t-test on log times, with its Benjamini-Hochberg adjustment. Exit codes: 0 compared, "
    "1 slower than --fail-above, 2 bad input, 3 a run with nothing aligned with the "
    "baseline, 4 --fail-above with no verdict."
)


def _common(parser: argparse.ArgumentParser, dest_help: str) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders")
    parser.add_argument("--dest", type=Path, metavar="DIR", help=dest_help)
    parser.add_argument("--out", type=Path, dest="old_out", help=argparse.SUPPRESS)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The report's arguments (`bench report` adds them to its own parser)."""
    _common(parser, "the folder to write into (default: the first run folder)")


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """The comparison's arguments (`bench compare` adds them to its own parser)."""
    _common(parser, "the folder to write into (default: compare/ in the baseline run folder)")
    parser.add_argument(
        "--fail-above",
        type=fail_ratio,
        metavar="X",
        help="a CI gate: exit 1 when a significant ratio (other / baseline) of any compared "
        "metric (steady epoch, first-epoch overhead, step-based overhead, cold start) exceeds "
        "X, a number > 1 such as 1.10; exit 4 when a run has no row with a verdict",
    )
    parser.add_argument(
        "--allow-no-verdict",
        action="store_true",
        help="with --fail-above: pass a run whose rows all lack a verdict (too few repeats)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the comparison as one JSON document on stdout (the table on stderr)",
    )


def report_parser(prog: str = "python -m analysis") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=f"{REPORT} Compare runs with: {prog.removesuffix(' report')} compare "
        "RUN_A RUN_B ...",
        allow_abbrev=False,
    )
    add_report_arguments(parser)
    return parser


def compare_parser(prog: str = "python -m analysis compare") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=COMPARE, allow_abbrev=False)
    add_compare_arguments(parser)
    return parser


def fail_ratio(text: str) -> float:
    """--fail-above's value: a finite number above 1 (NaN or infinity would disable the gate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 1):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a ratio above 1: expected a finite number > 1 such as 1.10 "
            "(fail when a run is significantly more than 10% slower than the baseline)"
        )
    return value


def _dest(args: argparse.Namespace, name: str) -> argparse.Namespace:
    """Take the deprecated `--out` as `--dest`, with a warning."""
    if args.old_out is not None:
        print(f"{name}: warning: --out is deprecated; use --dest", file=sys.stderr)
        args.dest = args.dest or args.old_out
    return args


def main(argv: list[str] | None = None, name: str = "analysis") -> int:
    """`name` is the program in messages: `analysis`, or `bench` for `bench report|compare`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["compare"]:
        return execute("compare", compare_parser(f"python -m {name} compare").parse_args(args[1:]))
    return execute("report", report_parser().parse_args(args), name)


def execute(command: str, parsed: argparse.Namespace, name: str = "analysis") -> int:
    """Write the report or the comparison of parsed arguments; bad result files and missing
    packages exit 2 with one paragraph (`name: error: ...`)."""
    parsed = _dest(parsed, name)
    if missing := missing_dependencies():
        print(
            f"{name}: error: missing packages {', '.join(missing)}; "
            "install them with: pip install -e '.[analysis]'",
            file=sys.stderr,
        )
        return 2
    from analysis.load import AnalysisError

    try:
        return run_compare(parsed) if command == "compare" else run_report(parsed)
    except AnalysisError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # an output folder that cannot be written
        print(f"{name}: error: {exc.filename or ''}: {exc.strerror}.", file=sys.stderr)
        return 2


def run_report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    for path in write_report(args.runs, args.dest):
        print(path)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Compare and print; the exit code is `analysis.compare.outcome`'s: 0, 1 (slower than
    --fail-above), 3 (a run with nothing aligned), 4 (--fail-above and no verdict)."""
    from analysis.compare import compare, outcome
    from analysis.compare_render import records

    out = args.dest if args.dest is not None else args.runs[0] / "compare"
    done = compare(args.runs, out)
    result = outcome(done, args.fail_above, args.allow_no_verdict)
    text = sys.stderr if args.json else sys.stdout
    print(done.text, file=text)
    print(file=text)
    for path in done.files:
        print(path, file=text)
    for line in result.messages:
        print(line, file=sys.stderr)
    if args.json:
        document = {
            "baseline": str(args.runs[0]),
            "runs": [str(r) for r in args.runs[1:]],
            "rows": records(done.table),
            "not_compared": done.unaligned,
            "files": [str(f) for f in done.files],
            "exit_code": result.code,
        }
        print(json.dumps(document, indent=2))
    return result.code


if __name__ == "__main__":
    sys.exit(main())
