"""Why a run has nothing to compare with the baseline: the identity values that differ.

`bench compare` aligns trials by identity (`compare_stats.alignment_key`); a run none of whose
ok configurations the baseline also has gets no row at all, and a comparison with no rows must
not pass as "no difference". `unaligned` names, per such run, the keys whose values differ
(`epochs 4 vs 5; samples_per_epoch 4096 vs 3200; repeats 1 vs 4`), the bench.toml setting
behind each, and where each run's config came from — the usual cause is two runs made with
different configs (one with the built-in defaults of an older bench, one with a bench.toml).
"""

from __future__ import annotations

import pandas as pd

from analysis.compare_stats import alignment_key, run_labels

# identity column → the setting that chooses it (the rest are named by their column)
SETTINGS = {
    "model": "[sweep] models",
    "framework": "[sweep] frameworks",
    "mode": "[sweep] torch_modes / keras_modes",
    "backend": "[sweep] keras_backends",
    "cache": "[sweep] caches",
    "input_shape": "[sweep] input_sizes",
    "dataset": "[data] dataset",
    "pipeline": "[data] pipeline",
    "precision": "[sweep] precisions",
    "autotune": "[sweep] autotune",
    "batch_size": "[sweep] batch_sizes",
    "epochs": "[train] epochs",
    "samples_per_epoch": "[train] samples",
    "parallel": "[sweep] parallel",
    "world_size": "[sweep] world_sizes",
    "repeats": "[sweep] repeats",
}


def unaligned(a, table: pd.DataFrame) -> dict[str, str]:
    """Each run (by its folder name) with no row in `table`, and why, in words."""
    names = run_labels(a.runs)
    base, *others = a.runs.run_ids
    compared = set(table["run"]) if len(table) else set()
    ok = a.trials[a.trials["status"] == "ok"]
    return {
        names[run]: reason(ok, a.trials, a.runs.meta, base, run, names)
        for run in others
        if names[run] not in compared
    }


def reason(
    ok: pd.DataFrame, trials: pd.DataFrame, meta: dict, base: str, run: str, names: dict
) -> str:
    """One sentence: which of the two runs has no ok trial, or which keys differ."""
    for rid in (base, run):
        if not (ok["run_id"] == rid).any():
            n = int((trials["run_id"] == rid).sum())
            return f"{names[rid]} has no trial that finished ok ({n} trial(s), none ok)"
    differ = differing_keys(ok, base, run)
    sources = f"configs: {_source(meta, base)} vs {_source(meta, run)}"
    if not differ:
        return f"no configuration of one is in the other ({sources})"
    words = "; ".join(f"{name} {values}" for name, values in differ)
    settings = ", ".join(dict.fromkeys(SETTINGS.get(name, name) for name, _ in differ))
    return f"they differ in {words} (set by {settings}; {sources})"


def differing_keys(ok: pd.DataFrame, base: str, run: str) -> list[tuple[str, str]]:
    """(key, 'baseline values vs run values') for each alignment key whose values differ
    between the two runs' ok trials, and the repeats per configuration where they differ."""
    key = alignment_key(ok)
    sides = [ok[ok["run_id"] == rid] for rid in (base, run)]
    out = []
    for column in key:
        values = [_values(side[column]) for side in sides]
        if values[0] != values[1]:
            out.append((column, f"{values[0]} vs {values[1]}"))
    repeats = [_values(side.groupby(key, dropna=False).size()) for side in sides]
    if repeats[0] != repeats[1]:
        out.append(("repeats", f"{repeats[0]} vs {repeats[1]}"))
    return out


def _values(series: pd.Series) -> str:
    """The distinct values, in order: '4', or '4, 5'."""
    unique = sorted({str(v) for v in series}, key=lambda v: (len(v), v))
    return ", ".join(unique) if unique else "—"


def _source(meta: dict, run_id: str) -> str:
    source = str((meta.get(run_id) or {}).get("config", {}).get("source", "") or "unknown")
    return source.replace("(defaults)", "built-in defaults")
