"""What a user sees while a sweep runs and when it ends.

While it runs: one result line per finished trial (status, first epoch, steady epoch, overhead,
samples/s; a failure in red with its reason and log), and on a terminal a live bar below them:
trials done, the running trial's phase as it ends (`import`, `device_init`, … — the child writes
set-up phases at once), its epochs, and the time left (`bench.core.eta`). At the end: one row per
configuration (`bench.core.summary`), or per trial with `--verbose`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from analysis.numbers import level, mib, number, ratio, seconds, seconds_interval
from bench.contract.headline import PHASE_LABELS
from bench.contract.schema import SINGLE_PHASES, TrialRow
from bench.contract.trial import Trial
from bench.core.eta import Eta
from bench.core.summary import Configuration, status_text, varying_labels

# after a phase ends, what runs now, in the words the report uses (the child writes set-up
# phases at once: from `build`'s end on, epoch 1 runs)
NEXT = {
    done: PHASE_LABELS[now] for done, now in zip(SINGLE_PHASES, SINGLE_PHASES[1:], strict=False)
}
NEXT["build"] = f"{PHASE_LABELS['compile']}, first step, epoch 1"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return (
        f"{minutes}:{secs:02d} left"
        if minutes < 60
        else f"{minutes // 60} h {minutes % 60} min left"
    )


class Display:
    """Progress during the sweep (see the module docstring)."""

    def __init__(
        self, console: Console | None = None, verbosity: int = 0, eta: Eta | None = None
    ) -> None:
        """`verbosity` -1 (`--quiet`): failures only; 0: a line per trial and the live bar;
        1 (`--verbose`): also each phase and epoch as a line."""
        self.console = console or Console()
        if not self.console.is_terminal:  # logs and CI: wide enough for the summary table
            self.console.width = max(self.console.width, 160)
        self.verbosity = verbosity
        self.live = self.console.is_terminal and verbosity >= 0
        self.eta = eta or Eta()
        self._progress: Progress | None = None
        self._task: Any = None
        self._trial: Trial | None = None
        self._left: list[Trial] = []
        self._started = 0.0
        self._done = 0
        self._total = 0

    def start(self, run_dir: Path, trials: list[Trial]) -> None:
        self._total, self._left = len(trials), list(trials)
        if self.verbosity >= 0:
            self.console.print(f"bench: {len(trials)} trials → {run_dir}")
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                console=self.console,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=len(trials), eta="")

    def note(self, text: str) -> None:
        """A line above the live bar (warm-up, resume, ...)."""
        if self.verbosity >= 0:
            self.console.print(text, markup=False, highlight=False)

    def working(self, text: str) -> None:
        """The live bar's description while no trial runs (an untimed warm-up)."""
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def trial_started(self, trial: Trial) -> None:
        self._trial, self._started = trial, time.monotonic()
        self._describe("spawn, harness")

    def _describe(self, what: str) -> None:
        if self._progress is not None and self._trial is not None:
            eta = _clock(self.eta.remaining(self._left))
            self._progress.update(
                self._task, description=f"{self._trial.trial_id}  {what}", eta=eta
            )

    def on_event(self, event: dict[str, Any]) -> None:
        if self._trial is None:
            return
        if self.verbosity > 0 and event["event"] in ("phase", "epoch"):
            what = event.get("phase") or f"epoch {event['epoch']}"
            took = event.get("duration_s", event.get("wall_s"))
            self.note(f"  {self._trial.trial_id}: {what} {seconds(took)}")
        if event["event"] == "phase" and event["phase"] in NEXT:
            self._describe(NEXT[event["phase"]])
        elif event["event"] == "epoch":
            following = event["epoch"] + 1
            if following <= self._trial.epochs:
                self._describe(f"epoch {following}/{self._trial.epochs}")

    def trial_done(self, row: TrialRow) -> None:
        self._done += 1
        finished = next((t for t in self._left if t.trial_id == row.trial_id), None)
        if finished is not None:
            self._left.remove(finished)
            if row.status == "ok":
                self.eta.done(finished, time.monotonic() - self._started)
        if self._progress is not None:
            self._progress.update(self._task, eta=_clock(self.eta.remaining(self._left)))
            self._progress.advance(self._task)
        if self.verbosity < 0 and row.status in ("ok", "skipped"):
            return
        self.console.print(result_line(row, self._done, self._total), highlight=False)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def result_line(row: TrialRow, done: int, total: int) -> str:
    """One finished trial, as rich markup: its figures, or (in colour) why it did not finish."""
    head = escape(f"[{done}/{total}] {row.trial_id}: ")
    if row.status == "ok":
        return head + escape(
            f"ok — first epoch {seconds(row.first_epoch_s)}, steady {seconds(row.steady_epoch_s)}"
            f", overhead {seconds(row.first_epoch_overhead_s)}, "
            f"{number(row.samples_per_s)} samples/s"
        )
    color = "yellow" if row.status == "skipped" else "red"
    log = "" if row.status == "skipped" else f" (log: logs/{row.trial_id}.log)"
    return f"{head}[{color}]{row.status}[/{color}] — {escape((row.error or '') + log)}"


#: the summary's columns and when a narrow terminal drops them (`-v` keeps every one): level 2
#: first (ratio, set-up, samples/s, RSS), then level 1 (first step, cold start); 0 stays
COLUMNS: list[tuple[str, int]] = [
    ("configuration", 0), ("repeats", 0), ("steady epoch\n[CI] level", 0), ("first\nepoch", 0),
    ("overhead", 0), ("first ÷\nsteady", 2), ("first\nstep", 1), ("set-up", 2),
    ("cold\nstart", 1), ("samples/s", 2), ("peak\nRSS", 2),
]  # fmt: skip


def _cells(c: Configuration, name: str, compact: bool) -> str:
    """One cell of the summary, numbers as the report writes them (`compact`: no interval, no
    status words — the narrowest terminal)."""
    if name == "repeats":
        if compact:
            return f"{c.ok}/{c.repeats}"
        return f"{c.ok}/{c.repeats} ok" + (f" ({status_text(c.statuses)})" if c.statuses else "")
    if name.startswith("steady"):
        if compact:
            return seconds(c.steady_epoch_s)
        steady = seconds_interval(c.steady_epoch_s, c.steady_ci_low_s, c.steady_ci_high_s)
        return steady + (f" {level(c.steady_ci_level)}" if c.steady_ci_level is not None else "")
    figure = {
        "first\nepoch": c.first_epoch_s,
        "overhead": c.overhead_s,
        "first\nstep": c.first_step_s,
        "set-up": c.setup_s,
        "cold\nstart": c.cold_start_s,
    }
    if name in figure:
        return seconds(figure[name])
    if name == "first ÷\nsteady":
        return ratio(c.first_over_steady)
    return number(c.samples_per_s) if name == "samples/s" else mib(c.peak_rss_bytes)


#: how a narrow terminal fits the summary: columns of level < keep, and compact cells
STAGES = ((3, False), (2, False), (1, False), (1, True))


def configuration_table(
    configs: list[Configuration], width: int | None = None, verbose: bool = False
) -> Table:
    """The end-of-run summary: one row per configuration, numbers as the report writes them.
    Given a terminal `width` (and not `verbose`), the labels keep only what differs between
    configurations (the rest is one line above the table), and columns, then intervals, are
    dropped until the table fits; a configuration is never wrapped."""
    if width is None or verbose:
        return _table([name for name, _ in COLUMNS], configs, [c.label for c in configs], "")
    labels, shared = varying_labels(configs)
    for keep, compact in STAGES:
        names = [name for name, lvl in COLUMNS if lvl < keep]
        table = _table(names, configs, labels, shared, compact)
        if Console(width=10_000).measure(table).maximum <= width:
            break
    return table


def _table(
    names: list[str],
    configs: list[Configuration],
    labels: list[str],
    shared: str,
    compact: bool = False,
) -> Table:
    title = "bench summary: one row per configuration (peak RSS in MiB)"
    table = Table(title=title + (f"\nevery row: {escape(shared)}" if shared else ""))
    for name in names:
        head = {"repeats": "ok", "steady epoch\n[CI] level": "steady\nepoch"}.get(name, name)
        first = name == "configuration"
        table.add_column(head if compact else name, justify="left" if first else "right",
                         no_wrap=True, overflow="ellipsis" if first else "fold")  # fmt: skip
    for c, text in zip(configs, labels, strict=True):
        table.add_row(escape(text), *(_cells(c, name, compact) for name in names[1:]))
    return table


def summary_table(rows: list[TrialRow]) -> Table:
    """The per-trial table (`--verbose`)."""
    table = Table(title="bench trials (peak RSS in MiB)")
    for name in (
        "trial",
        "status",
        "set-up",
        "first step",
        "steady step",
        "first epoch",
        "steady epoch",
        "overhead",
        "samples/s",
        "peak RSS",
    ):
        table.add_column(name, justify="left" if name in ("trial", "status") else "right")
    for row in rows:
        step = row.steady_epoch_s / row.steps_per_epoch if row.steady_epoch_s else None
        table.add_row(
            row.trial_id,
            row.status if row.status == "ok" else f"[red]{row.status}[/red]",
            seconds(row.setup_s),
            seconds(row.first_step_s),
            seconds(step),
            seconds(row.first_epoch_s),
            seconds(row.steady_epoch_s),
            seconds(row.first_epoch_overhead_s),
            number(row.samples_per_s),
            mib(row.peak_rss_bytes),
        )
    return table
