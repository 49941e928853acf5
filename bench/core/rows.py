"""A finished trial's events → its rows in trials.csv, phases.csv, epochs.csv, steps.csv, ...

The headline figures in trials.csv are derived from the same epoch and phase rows that are
written beside them, by their one definition (`bench.contract.headline`), so they can be
recomputed and audited; `peak_rss_bytes` / `peak_device_bytes` are the largest peak of set-up and
every epoch.

`flops_per_sample` comes from the model's spec (the parent's count); for a native model, which
has none, from the child's own count (`stats.flops_per_sample`, torch's FlopCounterMode).
The child's `dataset` event fills the data identity columns of trials.csv; its `validation`
events (written after each epoch's clock stopped) fill `accuracy`, `val_loss`, `val_accuracy` and
`val_s` of the epoch they name; its `steps` events (one per epoch: every step's wall time)
become steps.csv's rows and trials.csv's per-step figures (`bench.contract.steps`).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.contract.headline import trial_figures
from bench.contract.schema import (
    EpochRow,
    MemoryRow,
    PhaseRow,
    RankRow,
    SampleRow,
    SettingRow,
    StepRow,
    TrialRow,
)
from bench.contract.steps import step_figures
from bench.contract.trial import Trial
from bench.core.noise_rows import noise_columns

RANK_ONLY = ("event", "memory", "start_s", "local_s", "barrier_wait_s")  # not epochs.csv columns
VALIDATION_FIELDS = ("accuracy", "val_loss", "val_accuracy", "val_s")


def _max(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def headline(phases: list[PhaseRow], epochs: list[EpochRow]) -> dict[str, float | None]:
    """trials.csv's headline figures from the raw phase and epoch rows written beside them
    (`bench.contract.headline.trial_figures`)."""
    return trial_figures(
        {p.phase: p.duration_s for p in phases},
        {e.epoch: e.wall_s for e in epochs},
        epochs[0].samples if epochs else 0,
    )


def epoch_rows(
    run_id: str, tid: str, epoch_events: list[dict[str, Any]], events: list[dict[str, Any]]
) -> list[EpochRow]:
    """One row per epoch event, with the validation event of the same epoch merged in."""
    validation = {e["epoch"]: e for e in events if e["event"] == "validation"}
    rows = []
    for e in epoch_events:
        fields = {k: v for k, v in e.items() if k not in RANK_ONLY}
        extra = validation.get(e["epoch"], {})
        fields |= {k: extra.get(k) for k in VALIDATION_FIELDS}
        rows.append(EpochRow(run_id, tid, **fields))
    return rows


def data_identity(trial: Trial, info: dict[str, Any]) -> dict[str, Any]:
    """trials.csv's pipeline and data-identity columns, from the trial and its `dataset` event."""
    loader = trial.pipeline == "loader"
    return {
        "pipeline": trial.pipeline,
        "workers": trial.workers if loader and trial.framework == "torch" else None,
        "augment": "flip+rotation" if trial.augment else "none",
        "dataset_path": info.get("dataset.path", ""),
        "dataset_checksum": info.get("dataset.checksum", ""),
        "dataset_files": info.get("dataset.files_read"),
        "dataset_skipped": info.get("dataset.skipped"),
        "dataset_samples": info.get("dataset.source_samples"),
        "val_samples": info.get("dataset.val_samples"),
    }


def trial_rows(
    run_id: str,
    trial: Trial,
    status: str,
    exit_code: int | None,
    error: str,
    events: list[dict[str, Any]],
    flops_per_sample: int | None,
) -> dict[str, list[Any]]:
    """The rows of one trial for every table, whatever its status (a failed trial keeps what it
    measured)."""
    tid = trial.trial_id
    phases = [
        PhaseRow(run_id, tid, e["phase"], e["start_s"], e["duration_s"])
        for e in events
        if e["event"] == "phase"
    ]
    epoch_events = [e for e in events if e["event"] == "epoch"]
    epochs = epoch_rows(run_id, tid, epoch_events, events)
    info = reported(events)
    ranks = _event_rows(RankRow, run_id, tid, events, "rank_epoch")
    walls = {e["epoch"]: e["wall_s"] for e in events if e["event"] == "steps"}
    row = TrialRow(
        run_id=run_id,
        **trial_identity(trial),
        **data_identity(trial, info),
        # a native model has no spec: its child counted its FLOPs where it could (stats event)
        flops_per_sample=flops_per_sample
        if flops_per_sample is not None
        else info.get("stats.flops_per_sample"),
        status=status,
        exit_code=exit_code,
        error=error,
        **measured(info, epochs),
        **headline(phases, epochs),
        **noise_columns(events),
        **step_figures(walls),
        straggler_wait_s=straggler_wait(ranks),
    )
    return {
        "trials.csv": [row],
        "phases.csv": phases,
        "epochs.csv": epochs,
        "memory.csv": [
            MemoryRow(run_id, tid, e["epoch"], source, peak)
            for e in epoch_events
            for source, peak in e.get("memory", {}).items()
        ],
        "settings.csv": [
            SettingRow(run_id, tid, key, value)
            for e in events
            if e["event"] == "settings"
            for key, value in e["values"].items()
        ],
        "ranks.csv": ranks,
        "steps.csv": step_rows(run_id, tid, walls),
        "samples.csv": _event_rows(SampleRow, run_id, tid, events, "sample"),
    }


def step_rows(run_id: str, tid: str, walls: dict[int, list[float]]) -> list[StepRow]:
    """steps.csv: one row per step of every epoch (steps numbered from 1 in each epoch)."""
    return [
        StepRow(run_id, tid, epoch, step, wall)
        for epoch, epoch_walls in walls.items()
        for step, wall in enumerate(epoch_walls, start=1)
    ]


def _event_rows(
    row_type: type, run_id: str, tid: str, events: list[dict[str, Any]], kind: str
) -> list[Any]:
    """One `row_type` row per event of `kind`, its fields the event's."""
    fields = ({k: v for k, v in e.items() if k != "event"} for e in events if e["event"] == kind)
    return [row_type(run_id, tid, **f) for f in fields]


def reported(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Every field of every event as `event.field` (a later event of a kind wins)."""
    info: dict[str, Any] = {}
    for e in events:
        info.update({f"{e['event']}.{k}": v for k, v in e.items() if k != "event"})
    return info


def trial_identity(trial: Trial) -> dict[str, Any]:
    """trials.csv's identity and size columns, from the planned trial alone."""
    return {
        "trial_id": trial.trial_id,
        "order": trial.order,
        "framework": trial.framework,
        "backend": trial.backend,
        "mode": trial.mode,
        "cache": trial.cache,
        "model": trial.model,
        "model_options": ",".join(f"{k}={v}" for k, v in trial.model_options.items()),
        "definition": trial.definition,
        "dataset": trial.dataset,
        "input_shape": "x".join(map(str, trial.input_shape)),
        "classes": trial.classes,
        "device": trial.device,
        "device_name": trial.device_name,
        "device_uuid": trial.device_uuid,
        "gpu_readings": gpu_readings(trial),
        "threads": trial.threads,
        "precision": trial.precision,
        "autotune": trial.autotune,
        "batch_size": trial.batch_size,
        "parallel": trial.parallel,
        "world_size": trial.world_size,
        "repeat": trial.repeat,
        "epochs": trial.epochs,
        "steps_per_epoch": trial.steps_per_epoch,
        "samples_per_epoch": trial.samples_per_epoch,
    }


def gpu_readings(trial: Trial) -> str:
    """Whose NVML readings a trial's power, energy and utilisation are: `device` (its own GPU),
    `board` (a MIG slice's whole board, shared with the other slices), "" on the CPU."""
    if trial.device_kind != "cuda":
        return ""
    return "board" if trial.mig_slice else "device"


def measured(info: dict[str, Any], epochs: list[EpochRow]) -> dict[str, Any]:
    """trials.csv's columns that the child reported: sizes, version, peaks, compile counters."""
    return {
        "params_trainable": info.get("params.trainable"),
        "params_non_trainable": info.get("params.non_trainable"),
        "framework_version": info.get("framework.version", ""),
        "peak_rss_bytes": _max(
            [info.get("setup_peak.peak_rss_bytes")] + [e.peak_rss_bytes for e in epochs]
        ),
        "peak_device_bytes": _max([e.peak_device_bytes for e in epochs]),
        "compile_time_s": info.get("stats.compile_time_s"),
        "graph_count": info.get("stats.graph_count"),
        "graph_breaks": info.get("stats.graph_breaks"),
        "compiled_frames": info.get("stats.compiled_frames"),
    }


def straggler_wait(ranks: list[RankRow]) -> float | None:
    """A data-parallel trial's straggler time: per epoch 2..E the longest wait of any rank at
    the end-of-epoch barrier, the median over those epochs (None without rank rows)."""
    longest: dict[int, float] = {}
    for r in ranks:
        if r.epoch >= 2 and r.barrier_wait_s is not None:
            longest[r.epoch] = max(longest.get(r.epoch, 0.0), r.barrier_wait_s)
    return round(statistics.median(longest.values()), 9) if longest else None
