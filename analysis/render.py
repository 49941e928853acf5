"""Render the report's figures to PNG bytes, in parallel where the platform allows it.

Drawing and encoding a figure of many facets is the slowest part of a report (~1–2 s each for a
sweep of 30 model × device facets); the figures are independent, so `render_all` draws them in
forked worker processes (`analysis.forked`), one per figure, at most one per CPU, and gets back
only the PNG bytes — the same bytes as drawing them one by one in this process.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from analysis import figkit, forked, plots

if TYPE_CHECKING:
    from analysis.analyze import Analysis


def render(a: Analysis, index: int) -> bytes | None:
    """PNG bytes of figure `index` of `plots.figures()`, or None when it does not apply."""
    fig = plots.figures()[index].draw(a)
    return None if fig is None else figkit.png_bytes(fig)


def render_all(a: Analysis) -> list[bytes | None]:
    """Every figure's PNG bytes (None where a figure does not apply), in report order."""
    return forked.fork_map(partial(render, a), range(len(plots.figures())))
