"""Command line: `python -m analysis RUN_DIR... [--out DIR]` writes a report;
`python -m analysis compare RUN_A RUN_B [...] [--out DIR]` compares runs against the first.

Bad result files exit with code 2 and one paragraph on stderr (`analysis: error: ...`), never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import missing_dependencies


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Write report.md, report.html and figures/ for bench run folders "
        "(compare runs with: python -m analysis compare RUN_A RUN_B ...).",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders")
    parser.add_argument("--out", type=Path, help="output folder (default: the first run folder)")
    return parser


def compare_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis compare",
        description="Compare runs against the first (the baseline): per aligned configuration, "
        "the ratio of medians over repeats with a 95% CI, a Mann-Whitney p-value and its "
        "Benjamini-Hochberg adjustment.",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders")
    parser.add_argument(
        "--out", type=Path, help="output folder (default: compare/ in the baseline run folder)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    missing = missing_dependencies()
    if missing:
        print(
            f"analysis: error: missing packages {', '.join(missing)}; "
            "install them with: pip install -e '.[analysis]'",
            file=sys.stderr,
        )
        return 2
    from analysis.load import AnalysisError

    try:
        if args[:1] == ["compare"]:
            return run_compare(compare_parser().parse_args(args[1:]))
        return run_report(report_parser().parse_args(args))
    except AnalysisError as exc:
        print(f"analysis: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # an output folder that cannot be written
        print(f"analysis: error: {exc.filename or ''}: {exc.strerror}.", file=sys.stderr)
        return 2


def run_report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    for path in write_report(args.runs, args.out):
        print(path)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from analysis.compare import compare_runs

    out = args.out if args.out is not None else args.runs[0] / "compare"
    text, files = compare_runs(args.runs, out)
    print(text)
    print()
    for path in files:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
