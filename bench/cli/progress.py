"""What a user sees while a sweep runs and when it ends.

On a terminal: a rich progress bar over the sweep with the current trial and its phase or epoch.
Elsewhere (CI, pipes): one plain line per finished trial. At the end: a summary table per trial
(first epoch, steady epoch, overhead, samples/s, peak RSS, status) and the run folder's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.core.schema import TrialRow
from bench.trial.spec import Trial


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _mib(value: int | None) -> str:
    return "" if value is None else f"{value / 2**20:.0f}"


class Display:
    """Progress during the sweep and the summary after it."""

    def __init__(self, console: Console | None = None, verbosity: int = 0) -> None:
        """`verbosity` -1 (`--quiet`): failures only; 0: progress; 1 (`--verbose`): also each
        phase and epoch as a line."""
        self.console = console or Console()
        if not self.console.is_terminal:  # logs and CI: wide enough for the summary table
            self.console.width = max(self.console.width, 160)
        self.verbosity = verbosity
        self.live = self.console.is_terminal and verbosity == 0
        self._progress: Progress | None = None
        self._task: Any = None
        self._trial: Trial | None = None
        self._done = 0
        self._total = 0

    def start(self, run_dir: Path, trials: list[Trial]) -> None:
        self._total = len(trials)
        if self.verbosity >= 0:
            self.console.print(f"bench: {len(trials)} trials → {run_dir}")
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=len(trials))

    def trial_started(self, trial: Trial) -> None:
        self._trial = trial
        self._describe("spawn")

    def _describe(self, what: str) -> None:
        if self._progress is not None and self._trial is not None:
            self._progress.update(self._task, description=f"{self._trial.trial_id}  {what}")

    def on_event(self, event: dict[str, Any]) -> None:
        if self._trial is None:
            return
        if self.verbosity > 0 and event["event"] in ("phase", "epoch"):
            what = event.get("phase") or f"epoch {event['epoch']}"
            took = event.get("duration_s", event.get("wall_s"))
            text = f"  {self._trial.trial_id}: {what} {took:.3f} s"
            self.console.print(text, markup=False, highlight=False)
        if event["event"] == "phase":
            self._describe(f"{event['phase']} done")
        elif event["event"] == "epoch":
            self._describe(
                f"epoch {event['epoch']}/{self._trial.epochs} done ({event['wall_s']:.2f} s)"
            )

    def trial_done(self, row: TrialRow) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress.advance(self._task)
            return
        if self.verbosity < 0 and row.status in ("ok", "skipped"):
            return
        line = f"[{self._done}/{self._total}] {row.trial_id}: {row.status}"
        if row.status == "ok":
            line += f", first epoch {_s(row.first_epoch_s)} s, steady {_s(row.steady_epoch_s)} s"
        elif row.error:
            line += f" — {row.error}"
        self.console.print(line, markup=False, highlight=False)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def summary_table(rows: list[TrialRow]) -> Table:
    table = Table(title="bench summary (seconds; RSS in MiB)")
    for name in (
        "trial",
        "status",
        "setup",
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
        table.add_row(
            row.trial_id,
            row.status if row.status == "ok" else f"[red]{row.status}[/red]",
            _s(row.setup_s),
            _s(row.first_step_s),
            _s(row.steady_epoch_s / row.steps_per_epoch if row.steady_epoch_s else None),
            _s(row.first_epoch_s),
            _s(row.steady_epoch_s),
            _s(row.first_epoch_overhead_s),
            "" if row.samples_per_s is None else f"{row.samples_per_s:.0f}",
            _mib(row.peak_rss_bytes),
        )
    return table
