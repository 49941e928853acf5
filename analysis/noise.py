"""The report's "may be unstable" warnings, each naming its likely cause from the noise columns.

`unstable_warnings` applies the two rules of `analysis.instability` to every configuration and
words a warning the way pyperf does: what looks unstable, the number that shows it, then the
likely cause — read from trials.csv's noise columns (`bench.contract.schema.NOISE_TRIAL_COLUMNS`) —
and, once, what to do about it. For repeats that disagree the cause is looked for in the
slowest repeat; for multi-modal epochs in every repeat. A cause is named when:

- CPU steal: a repeat's mean `cpu_steal_pct` ≥ STEAL_PCT ("CPU steal 12 % during repeat 2");
- other processes: a repeat's mean `other_cpu_pct` ≥ OTHER_PCT ("other processes used 80 % of
  a core during repeat 2");
- thermal throttling: `cpu_throttle_count` > 0, or NVML reasons in `gpu_throttle_reasons`
  that slow the clock for heat or power ("GPU throttled: thermal during repeat 1"); the GPU's
  idle, application-clock, sync-boost and display reasons do not count;
- CPU frequency: the configuration's lowest and highest per-tick frequency differ by at least
  FREQ_SPREAD ("CPU frequency varied 1.2–3.4 GHz (governor powersave)");
- load: the load average before a repeat is at least the host's logical CPU count.

Folders written before schema version 5 have empty noise columns and get "no noise recorded".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis import forked, instability
from analysis.findings import _listed
from analysis.numbers import percent, seconds_interval
from analysis.summary import CONFIG, trial_walls

STEAL_PCT = 2.0
OTHER_PCT = 20.0
FREQ_SPREAD = 0.10
GPU_SLOWING = ((0x20 | 0x40, "thermal"), (0x04 | 0x80, "power"), (0x08, "hardware slowdown"))
SAMPLED = ("cpu_steal_pct", "other_cpu_pct")
ADVICE = (
    "Unstable timings: rerun with nothing else running on the machine, the CPU governor at "
    "`performance` (where there is one) and more repeats; the repeat is the unit of every "
    "interval, so a disturbed repeat widens it rather than hiding in it."
)


def logical_cpus(meta: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Each run's logical CPU count from its run.json host fingerprint, where recorded."""
    out = {}
    for run_id, m in meta.items():
        cores = (m.get("host") or {}).get("cpu_logical_cores")
        if isinstance(cores, int) and cores > 0:
            out[run_id] = cores
    return out


def _peak(rows: pd.DataFrame, column: str) -> tuple[float, Any] | None:
    """The largest value of `column` among `rows` and the repeat that had it."""
    values = pd.to_numeric(rows[column], errors="coerce").reset_index(drop=True)
    if values.notna().sum() == 0:
        return None
    at = int(values.idxmax())
    return float(values[at]), rows["repeat"].iloc[at]


def _pct(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _gpu_kinds(mask: int) -> list[str]:
    return [name for bits, name in GPU_SLOWING if mask & bits]


def _throttling(focus: pd.DataFrame) -> list[str]:
    out = []
    count = _peak(focus, "cpu_throttle_count")
    if count is not None and count[0] > 0:
        out.append(f"CPU thermal throttling ({count[0]:.0f} events) during repeat {count[1]}")
    for reasons, repeat in zip(focus["gpu_throttle_reasons"], focus["repeat"], strict=True):
        if pd.notna(reasons) and (kinds := _gpu_kinds(int(reasons))):
            out.append(f"GPU throttled: {', '.join(kinds)} during repeat {repeat}")
            break
    return out


def _frequency(group: pd.DataFrame) -> list[str]:
    low = pd.to_numeric(group["cpu_freq_min_mhz"], errors="coerce").min()
    high = pd.to_numeric(group["cpu_freq_max_mhz"], errors="coerce").max()
    if not (low > 0 and high >= low * (1 + FREQ_SPREAD)):
        return []
    governors = sorted({g for g in group["cpu_governor"] if isinstance(g, str) and g})
    extra = f" (governor {', '.join(governors)})" if governors else ""
    return [f"CPU frequency varied {low / 1000:.1f}–{high / 1000:.1f} GHz{extra}"]


def causes(focus: pd.DataFrame, group: pd.DataFrame, cpus: int | None = None) -> str:
    """The likely causes, as one phrase, from the noise columns of the `focus` repeats (and the
    frequency range of the whole configuration `group`)."""
    found = []
    steal = _peak(focus, "cpu_steal_pct")
    if steal is not None and steal[0] >= STEAL_PCT:
        found.append(f"CPU steal {_pct(steal[0])} % during repeat {steal[1]}")
    other = _peak(focus, "other_cpu_pct")
    if other is not None and other[0] >= OTHER_PCT:
        share = f"{other[0]:.0f} % of a core" if other[0] < 100 else f"{other[0] / 100:.1f} cores"
        found.append(f"other processes used {share} during repeat {other[1]}")
    found += _throttling(focus) + _frequency(group)
    load = _peak(focus, "load_avg_1m_before")
    if cpus and load is not None and load[0] >= cpus:
        found.append(f"load average {load[0]:.1f} on {cpus} CPUs before repeat {load[1]}")
    if found:
        return ("likely cause: " if len(found) == 1 else "likely causes: ") + "; ".join(found)
    if all(pd.to_numeric(group[c], errors="coerce").isna().all() for c in SAMPLED):
        return "no noise was recorded (a result folder before schema version 5, or no sampler)"
    return (
        "no recorded noise source stands out (CPU steal, other processes, CPU frequency and "
        "throttling were quiet): look inside the process (memory layout, thread placement)"
    )


def _separation(separation: float) -> str:
    if math.isinf(separation):
        return "no spread within either group"
    return f"their means {separation:.1f} within-group SDs apart"


def _rules(repeats: list[np.ndarray]) -> tuple:
    """Both instability rules (`modes`, `disagreement`) for one configuration's repeats."""
    return instability.modes(repeats), instability.disagreement(repeats)


def unstable_warnings(
    trials: pd.DataFrame, configs: pd.DataFrame, epochs: pd.DataFrame, cpus: dict[str, int]
) -> list[str]:
    """One warning per configuration whose steady epochs are multi-modal and one per
    configuration whose repeats disagree (`analysis.instability`), then the advice once."""
    ok = trials[trials["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        return []
    walls = trial_walls(ok, epochs)
    grouped = ok.groupby(CONFIG, sort=False, dropna=False)
    positions = grouped.indices
    split, apart = [], []
    run_ids = ok["run_id"].to_numpy()
    keys = list(grouped.size().index)
    members = [positions[key] for key in keys]  # each configuration's rows
    verdicts = forked.map_chunked(lambda i: _rules([walls[j] for j in members[i]]), len(keys))
    for key, label, (m, d) in zip(keys, configs["label"], verdicts, strict=True):
        if not (m is not None and m.multimodal) and not (d is not None and d.disagree):
            continue  # taking the rows costs more than both rules: only where a warning needs them
        rows = ok.iloc[positions[key]]
        n_cpus = cpus.get(str(run_ids[positions[key][0]]))
        if m is not None and m.multimodal:
            split.append(
                f"{label}: may be unstable — its steady epochs fall into two groups "
                f"{m.shift:.0%} apart ({m.n_fast} fast, {m.n_slow} slow epochs; "
                f"{_separation(m.separation)}); {causes(rows, rows, n_cpus)}."
            )
        if d is not None and d.disagree:
            slow, fast = rows.iloc[[d.slow]], rows.iloc[d.fast]
            apart.append(
                f"{label}: may be unstable — its repeats disagree beyond their own intervals: "
                f"repeat {slow['repeat'].iloc[0]} took "
                f"{seconds_interval(d.slow_ci.value, d.slow_ci.low, d.slow_ci.high)}, "
                f"{percent(d.shift)} more than repeat {fast['repeat']} with "
                f"{seconds_interval(d.fast_ci.value, d.fast_ci.low, d.fast_ci.high)}; "
                f"{causes(slow, rows, n_cpus)}."
            )
    out = _listed(split, "more configurations with multi-modal epochs")
    out += _listed(apart, "more configurations whose repeats disagree")
    return [*out, ADVICE] if out else []
