"""`bench run` as a plain function: config in, run folder out (the CLI is a thin layer on top).

For each planned trial: skip it if its framework is not installed, else run it in a fresh child;
turn what it reported into rows; rewrite the tables. run.json is written before the first trial
(so a crash still leaves the config and host on record) and again at the end.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench import PROJECT_ROOT
from bench.contract.schema import TrialRow
from bench.contract.trial import Trial
from bench.core.config import Config
from bench.core.plan import plan
from bench.core.recipe import recipe
from bench.core.results import RunWriter, new_run_dir, utc_now
from bench.core.rows import trial_rows
from bench.errors import UsageError
from bench.hardware import devices as devices_mod
from bench.hardware.calibrate import load_latest
from bench.hardware.fingerprint import git_commit, this_host
from bench.hardware.mfu import mfu_fields
from bench.launchers import stops
from bench.launchers.caches import fill, run_warm_up, warm_dir
from bench.launchers.launch import launcher_for
from bench.launchers.process import scratch_dir

REQUIRED_MODULES = {
    "torch": ("torch",),
    "keras": ("keras", "tensorflow"),
    "numpy": ("numpy", "threadpoolctl"),
    "fake": (),
}
INSTALL_HINT = {
    "torch": "pip install -e '.[torch]'",
    "keras": "pip install -e '.[keras]'",
    "numpy": "pip install -e .",
}


class Display(Protocol):
    """Whoever watches the sweep (`bench.cli.progress.Display` on a terminal)."""

    def start(self, run_dir: Path, trials: list[Trial]) -> None: ...

    def trial_started(self, trial: Trial) -> None: ...

    def on_event(self, event: dict[str, Any]) -> None:
        """Each event the running trial's child writes, as it arrives."""

    def trial_done(self, row: TrialRow) -> None: ...

    def note(self, text: str) -> None:
        """A line for the user (warm-up trials)."""

    def working(self, text: str) -> None:
        """What runs now outside the timed trials (an untimed warm-up), on the live bar."""

    def stop(self) -> None: ...


@dataclass(slots=True)
class RunFolder:
    """An open run folder: where rows go, and the run.json being kept up to date."""

    run_id: str
    path: Path
    writer: RunWriter
    meta: dict[str, Any]


@dataclass(slots=True)
class RunResult:
    """The trials this invocation ran (and, after --resume, those the folder held before)."""

    run_id: str
    run_dir: Path
    trials: list[TrialRow] = field(default_factory=list)
    interrupted: bool = False
    earlier: list[TrialRow] = field(default_factory=list)

    @property
    def rows(self) -> list[TrialRow]:
        """Every trial of the run: the earlier rows, then this invocation's."""
        return [*self.earlier, *self.trials]

    @property
    def exit_code(self) -> int:
        """130 interrupted; 0 when at least one trial was measured and every other planned
        trial ended ok or was skipped by the plan; else 1 — a trial failed, timed out or ran
        out of memory, its framework is not installed, or nothing was measured."""
        if self.interrupted:
            return stops.exit_code()  # 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP
        rows = self.rows
        bad = [t for t in rows if t.status not in FINISHED or not_installed(t)]
        return 0 if any(t.status == "ok" for t in rows) and not bad else 1


# statuses that do not fail a run: measured, skipped by the plan, or a cluster job's preempted
# attempt (kept as history; the trial then ran again and has its own row)
FINISHED = ("ok", "skipped", "preempted")


def not_installed(row: TrialRow) -> str:
    """Why a skipped trial could not run because its framework is missing here ("" if it
    was skipped by the plan, or was not skipped): a failure of the run, since the sweep
    named that framework."""
    if row.status != "skipped" or row.framework not in REQUIRED_MODULES:
        return ""
    return missing_framework(row.framework, row.backend)


def missing_framework(framework: str, backend: str = "") -> str:
    """Why `framework` (on `backend`) cannot run here ("" if it can), without importing it."""
    needed = list(REQUIRED_MODULES[framework])
    if framework == "keras":
        needed = ["keras", backend or "tensorflow"]
    absent = [m for m in needed if importlib.util.find_spec(m) is None]
    if not absent:
        return ""
    if framework == "keras" and absent == [backend]:
        return f"the Keras backend {backend} is not installed (pip install {backend})"
    return f"{framework} is not installed (missing {', '.join(absent)}; {INSTALL_HINT[framework]})"


def planned_trials(config: Config, nvml: object = devices_mod.LOAD_NVML) -> list[Trial]:
    """Resolve the config's devices on this machine and expand the sweep."""
    available = devices_mod.discover(nvml)
    try:
        chosen = devices_mod.resolve(list(config.sweep.devices), available)
    except ValueError as exc:
        raise UsageError(f"{config.source}: [sweep] devices: {exc}.") from None
    return plan(config, chosen, devices_mod.default_threads())


def _train_flops(trial: Trial) -> int | None:
    """Training FLOPs per sample from the spec; None for a native model (its child counts)."""
    from models import flops, zoo

    if trial.definition == "native":
        return None
    try:
        spec = zoo.get(trial.model, trial.input_shape, trial.classes, **trial.model_options)
        return flops.train_flops(spec)
    except ValueError:
        return None


def create_run(config: Config, argv: list[str], trials: list[Trial]) -> RunFolder:
    """A new run folder with run.json (written before any trial) and empty tables."""
    run_id, run_dir = new_run_dir(Path(config.output.dir), config.output.name)
    meta = {
        "run_id": run_id,
        "started_utc": utc_now(),
        "finished_utc": None,
        "command": argv,
        "config": config.to_dict(),
        "host": this_host(),
        "git_commit": git_commit(PROJECT_ROOT),
        "trials_planned": len(trials),
        "recipe": recipe(trials),
        "calibration": load_latest(Path(config.output.dir)),
    }
    folder = RunFolder(run_id, run_dir, RunWriter(run_dir), meta)
    folder.writer.write_meta(meta)
    folder.writer.create()
    return folder


def run(config: Config, trials: list[Trial], folder: RunFolder, display: Display) -> RunResult:
    """Run `trials` into `folder`, committing each trial's rows as it ends; return rows and
    status."""
    writer, meta = folder.writer, folder.meta
    result = RunResult(folder.run_id, folder.path, earlier=list(writer.rows["trials.csv"]))
    missing = {(t.framework, t.backend): missing_framework(t.framework, t.backend) for t in trials}
    display.start(folder.path, trials)
    try:
        meta["warmup"] = warm_up(config, trials, folder, missing, display)
        for trial in trials:
            rows = _run_one(config, trial, folder, missing, display)
            writer.commit(rows)
            row = rows["trials.csv"][0]
            result.trials.append(row)
            display.trial_done(row)
            if row.status == "interrupted":
                result.interrupted = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        display.stop()
        meta.update(finished_utc=utc_now(), interrupted=result.interrupted)
        writer.write_meta(meta)
        shutil.rmtree(folder.path / "tmp", ignore_errors=True)
    return result


def warm_up(
    config: Config,
    trials: list[Trial],
    folder: RunFolder,
    missing: dict[tuple[str, str], str],
    display: Display,
) -> list[dict[str, Any]]:
    """`[sweep] warmup` untimed trials per (framework, backend, device) before the sweep: each
    the first planned trial of its kind, cut to 2 one-step epochs in an uncompiled mode, so that
    the OS file cache holds the framework and the data. Recorded in run.json, not in the tables."""
    first: dict[tuple[str, str, str], Trial] = {}
    for t in trials:  # the scripted fake runner imports nothing: nothing to warm
        if not (t.skip or missing[(t.framework, t.backend)] or t.framework == "fake"):
            first.setdefault((t.framework, t.backend, t.device), t)
    records = []
    for (framework, backend, device), trial in first.items():
        for i in range(config.sweep.warmup):
            display.working(f"warm-up {i + 1}/{config.sweep.warmup}: {framework}/{backend} on "
                            f"{device} (untimed, before the timed trials)")  # fmt: skip
            record = run_warm_up(trial, i, folder.path / "tmp")
            records.append(record)
            display.note(f"warm-up {i + 1}: {framework}/{backend} on {device}: "
                         f"{record['status']} ({record['seconds']:.1f} s, untimed)")  # fmt: skip
            if record["status"] == "interrupted":
                raise KeyboardInterrupt
    return records


def _run_one(
    config: Config,
    trial: Trial,
    folder: RunFolder,
    missing: dict[tuple[str, str], str],
    display: Display,
) -> dict[str, list]:
    why = trial.skip or missing[(trial.framework, trial.backend)]
    if why:
        status, code, error, events = "skipped", None, why, []
    else:
        cache = warm_dir(Path(config.output.dir), trial)
        if cache is not None and (filled := fill(trial, cache, folder.path / "tmp")):
            folder.meta.setdefault("cache_fills", []).append(filled)
            display.note(f"filled the warm cache of {trial.trial_id} ({filled['status']}, untimed)")
        display.trial_started(trial)
        launch = launcher_for(trial)
        outcome = launch(
            trial,
            scratch_dir(folder.path / "tmp", trial.trial_id),
            folder.path / "logs" / f"{trial.trial_id}.log",
            display.on_event,
            cache_dir=cache,
        )
        status, code, error, events = (
            outcome.status,
            outcome.exit_code,
            outcome.error,
            outcome.events,
        )
    return outcome_rows(folder, trial, status, code, error, events, socket.gethostname())


def outcome_rows(
    folder: RunFolder,
    trial: Trial,
    status: str,
    code: int | None,
    error: str,
    events: list[dict[str, Any]],
    node: str,
) -> dict[str, list]:
    """Every table's rows of one trial from how it ended and what its child reported, with the
    MFU figures (the device's calibration from run.json) and the node it ran on."""
    rows = trial_rows(folder.run_id, trial, status, code, error, events, _train_flops(trial))
    row = rows["trials.csv"][0]
    row.node = node
    settings = {s.key: s.value for s in rows["settings.csv"]}
    for name, value in mfu_fields(
        flops_per_sample=row.flops_per_sample,
        samples_per_epoch=trial.samples_per_epoch,
        world_size=trial.world_size,  # per device: N devices, N peaks
        steady_epoch_s=row.steady_epoch_s,
        framework=trial.framework,
        device=trial.device,
        device_kind=trial.device_kind,
        device_name=trial.device_name,
        mig=trial.mig_slice,
        device_uuid=trial.device_uuid,
        settings=settings,
        calibration=folder.meta.get("calibration"),
    ).items():
        setattr(row, name, value)
    return rows
