"""Host fingerprints and settings, flattened to key → value, and their differences across runs.

Used by the report (each run's host and config) and by compare (what differs between the runs
that could explain a difference in speed: versions, CPU/GPU model, driver, threads, precision
flags, the settings each trial process reported).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analysis.load import Runs
from analysis.numbers import gib

TRIAL_FIELDS = (
    "device_name",
    "device_uuid",
    "threads",
    "precision",
    "autotune",
    "framework_version",
    "dataset",
    "dataset_checksum",
    "pipeline",
    "workers",
    "epochs",
)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested dicts and lists → {'gpus[0].name': 'H100', 'framework_versions.torch': '2.13'}."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, item in enumerate(value):
            out |= flatten(item, f"{prefix}[{i}]")
        return out
    if isinstance(value, list):
        return {prefix: ", ".join(map(str, value))}
    if prefix.endswith("_bytes") and isinstance(value, int | float) and not isinstance(value, bool):
        return {prefix: gib(value)}  # RAM and GPU memory in human units
    return {prefix: "" if value is None else str(value)}


def host(meta: dict[str, Any]) -> dict[str, str]:
    """A run's machine and software: host fingerprint plus git commit."""
    return flatten(meta.get("host") or {}) | {"git_commit": str(meta.get("git_commit") or "")}


def config_text(meta: dict[str, Any]) -> str:
    return json.dumps(meta.get("config", {}), indent=2, sort_keys=False)


def differences(runs: Runs, run_ids: list[str] | None = None) -> pd.DataFrame:
    """Rows `what` + one column per run: every host, config or trial setting whose values are
    not the same in all runs (values of a trial setting are the set seen in that run)."""
    ids = run_ids or runs.run_ids
    columns: dict[str, dict[str, str]] = {rid: {} for rid in ids}
    for rid in ids:
        meta = runs.meta[rid]
        columns[rid] |= {f"host: {k}": v for k, v in host(meta).items()}
        config = flatten({k: v for k, v in (meta.get("config") or {}).items() if k != "output"})
        columns[rid] |= {f"config: {k}": v for k, v in config.items() if k != "source"}
        trials = runs.trials[runs.trials["run_id"] == rid]
        for name in TRIAL_FIELDS:
            if name in trials:
                columns[rid][f"trials: {name}"] = _values(trials[name])
        settings = runs.extra.get("settings.csv")
        if settings is not None:
            mine = settings[settings["run_id"] == rid]
            for key, group in mine.groupby("key"):
                columns[rid][f"setting: {key}"] = _values(group["value"])
    frame = pd.DataFrame(columns).fillna("—")
    frame = frame[frame.nunique(axis=1) > 1]
    return frame.rename_axis("what").reset_index()


def _values(series: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in series if str(v) != ""}))
