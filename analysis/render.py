"""Render the report's figures to PNG bytes, in parallel where the platform allows it.

Drawing and encoding a figure of many facets is the slowest part of a report (~1–2 s each for a
sweep of 30 model × device facets); the figures are independent, so `drawing` draws them in
forked worker processes (`analysis.forked`), one per figure, at most one per CPU, the costliest
first, while this process builds the rest of the report; it gets back only the PNG bytes — the
same bytes as drawing them one by one in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from analysis import figkit, forked, plots

if TYPE_CHECKING:
    from analysis.analyze import Analysis


def render(a: Analysis, index: int) -> bytes | None:
    """PNG bytes of figure `index` of `plots.figures()`, or None when it does not apply."""
    fig = plots.figures()[index].draw(a)
    return None if fig is None else figkit.png_bytes(fig)


@contextmanager
def drawing(a: Analysis) -> Iterator[Callable[[], list[bytes | None]]]:
    """Start drawing every figure in forked workers, the costliest first (`FigureSpec.cost`:
    the workers take the next as they finish), and give a function that waits for their PNG
    bytes in report order; in between, this process can build the rest of the report."""
    specs = plots.figures()
    order = sorted(range(len(specs)), key=lambda i: -specs[i].cost)
    with forked.started(partial(render, a), order) as pending:

        def in_report_order() -> list[bytes | None]:
            drawn = dict(zip(order, pending.results(), strict=True))
            return [drawn[i] for i in range(len(specs))]

        yield in_report_order
