"""Analysis of `bench` result folders: load and validate, statistics, figures, reports, compare.

Importing this package is cheap: pandas, numpy and matplotlib load only when a submodule that
needs them is imported. Entry points: `analysis.report.write_report`,
`analysis.compare.compare_runs`, `analysis.load.load_runs`, and `python -m analysis`.
"""

from __future__ import annotations

import importlib.util

REQUIRED = ("numpy", "pandas", "matplotlib", "seaborn")


def missing_dependencies() -> list[str]:
    """The packages the analysis needs that are not installed (without importing any of them)."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]
