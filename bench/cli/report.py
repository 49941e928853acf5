"""`python -m bench report | compare`: the analysis package's own command line, and the report that
`bench run` writes at its end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.flags import describe
from bench.errors import UsageError


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


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """`bench report`: the analysis package's report arguments, and `--json`."""
    from analysis import __main__ as analysis_cli

    describe(
        parser,
        analysis_cli.REPORT + " `bench run` writes this report for its own run at the end.",
        [
            ("bench report results/20260101-120000-host", "report.md/.html in that run folder"),
            ("bench report results/a results/b --dest /tmp/both", "two runs, one report"),
            ("bench report --json results/20260101-120000-host", "the summary as JSON"),
        ],
    )
    analysis_cli.add_report_arguments(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print each run's per-configuration summary as JSON instead (writes nothing)",
    )


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """`bench compare`: the analysis package's comparison arguments."""
    from analysis import __main__ as analysis_cli

    describe(
        parser,
        analysis_cli.COMPARE,
        [
            ("bench compare results/before results/after", "after against before"),
            ("bench compare results/main results/pr --fail-above 1.10", "a CI gate"),
        ],
    )
    analysis_cli.add_compare_arguments(parser)


def report(args: argparse.Namespace) -> int:
    """`bench report`: the report of the run folders (`--json`: their summaries instead)."""
    if args.json:
        return report_json(args.runs)
    from analysis.__main__ import execute

    return execute("report", args, "bench")


def compare(args: argparse.Namespace) -> int:
    """`bench compare`: the runs against the first; the analysis package's exit codes."""
    from analysis.__main__ import execute

    return execute("compare", args, "bench")


def _value(text: str) -> object:
    """A trials.csv cell as a number where it is one ('' is None)."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def report_json(run_dirs: list[Path]) -> int:
    """Print each run's per-configuration summary as JSON (the document `run --json` prints)."""
    import csv
    import json

    from bench.core.summary import configurations, summary_document

    if not run_dirs:
        raise UsageError("report --json: name at least one run folder (e.g. results/<id>).")
    documents = []
    for run_dir in run_dirs:
        try:
            with open(run_dir / "trials.csv", newline="", encoding="utf-8") as f:
                rows = [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(f)]
        except OSError as exc:
            raise UsageError(
                f"report --json: {run_dir}: {exc.strerror}; not a run folder."
            ) from None
        documents.append(summary_document(run_dir.name, run_dir, configurations(rows)))
    print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    return 0
