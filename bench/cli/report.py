"""`python -m bench report | compare`: the analysis package's own command line, and the report that
`bench run` writes at its end.
"""

from __future__ import annotations

import argparse
from pathlib import Path


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


def analysis(args: argparse.Namespace) -> int:
    """`bench report` / `bench compare`: hand the rest of the command line to `analysis`."""
    from analysis.__main__ import main as analysis_main

    prefix = ["compare"] if args.command == "compare" else []
    return analysis_main([*prefix, *args.rest], name="bench")
