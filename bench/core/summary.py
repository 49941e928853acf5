"""One line per configuration: what `bench run` prints at its end and `--json` hands to scripts.

A configuration is every trial that differs only in its repeat: the same values in every
identity column of the schema (`bench.core.schema.IDENTITY_COLUMNS`). Per
configuration: the median steady epoch over its `ok` repeats with a distribution-free
order-statistic interval for the median (`median_interval`: its confidence is exact — with 3
repeats [min, max] is a 75 % interval, and 95 % needs at least 6 — and printed as such), the
median first epoch, the overhead defined as median first − median steady (so the row adds up),
first ÷ steady, the median set-up, samples/s at the median steady epoch, the largest peak
RSS, the median first step and the cold start (median set-up + median first epoch: spawn to the
end of epoch 1, as the report computes it). Pure Python: the parent has no NumPy or pandas to
spare for this.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from bench.core.schema import IDENTITY_COLUMNS

CONFIG_KEY = IDENTITY_COLUMNS  # what a configuration is: one list, in the schema


@dataclass(frozen=True, slots=True)
class Configuration:
    """The summary of one configuration's repeats."""

    label: str
    key: dict[str, Any]
    repeats: int
    ok: int
    statuses: dict[str, int]  # count of each status other than ok, e.g. {"failed": 1}
    steady_epoch_s: float | None
    steady_ci_low_s: float | None
    steady_ci_high_s: float | None
    steady_ci_level: float | None
    first_epoch_s: float | None
    overhead_s: float | None
    first_over_steady: float | None
    setup_s: float | None
    samples_per_s: float | None
    peak_rss_bytes: int | None
    first_step_s: float | None  # median of the first training step (trials.csv first_step_s)
    cold_start_s: float | None  # median set-up + median first epoch: spawn to the end of epoch 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, confidence) of the order-statistic interval for the median of `values`: the
    narrowest [x(k), x(n−k+1)] whose exact binomial confidence reaches `level`, or [min, max]
    with its own (lower) confidence when n is too small for `level`."""
    xs, n = sorted(values), len(values)
    best = (xs[0], xs[-1], 1 - 2 * 0.5**n)
    for k in range(2, n // 2 + 1):
        covered = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if covered < level:
            break
        best = (xs[k - 1], xs[n - k], covered)
    return best


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def label(key: dict[str, Any]) -> str:
    """framework[.backend]/mode model[options] on device, batch B, T threads[, precision]
    [, autotune A] (the last two only off their defaults)."""
    fw, backend = key["framework"], key["backend"]
    name = fw if backend in ("tensorflow", fw) else f"{fw}.{backend}"
    options = f"[{key['model_options']}]" if key.get("model_options") else ""
    cache = " warm" if key.get("cache") == "warm" else ""
    precision = f", {key['precision']}" if key.get("precision", "fp32") != "fp32" else ""
    autotune = key.get("autotune", "default")
    tuned = f", autotune {autotune}" if autotune != "default" else ""
    return (
        f"{name}/{key['mode']}{cache} {key['model']}{options} {key['input_shape']} "
        f"on {key['device']}, b{key['batch_size']}, t{key['threads']}{precision}{tuned}"
        + (f", data-parallel ×{key['world_size']}" if key.get("parallel") == "data" else "")
    )


def configurations(rows: list[dict[str, Any]]) -> list[Configuration]:
    """Group trial rows (trials.csv as dicts, numbers as numbers) by configuration, in plan
    order, and summarise each."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["order"]):
        groups.setdefault(tuple(row.get(c) for c in CONFIG_KEY), []).append(row)
    return [_summarise(group) for group in groups.values()]


def _summarise(group: list[dict[str, Any]]) -> Configuration:
    key = {c: group[0].get(c) for c in CONFIG_KEY}
    ok = [r for r in group if r["status"] == "ok"]
    steady_values = [r["steady_epoch_s"] for r in ok if r["steady_epoch_s"] is not None]
    steady = _median(steady_values)
    low = high = level = None
    if steady_values:
        low, high, level = median_interval(steady_values)
    first = _median([r["first_epoch_s"] for r in ok])
    setup = _median([r["setup_s"] for r in ok])
    samples = key["samples_per_epoch"] or 0
    rss = [r["peak_rss_bytes"] for r in ok if r["peak_rss_bytes"] is not None]
    statuses = {s: n for s, n in sorted(_count(r["status"] for r in group).items()) if s != "ok"}
    return Configuration(
        label=label(key),
        key=key,
        repeats=len(group),
        ok=len(ok),
        statuses=statuses,
        steady_epoch_s=steady,
        steady_ci_low_s=low,
        steady_ci_high_s=high,
        steady_ci_level=level,
        first_epoch_s=first,
        overhead_s=first - steady if first is not None and steady is not None else None,
        first_over_steady=first / steady if first is not None and steady else None,
        setup_s=setup,
        samples_per_s=samples / steady if steady else None,
        peak_rss_bytes=max(rss) if rss else None,
        first_step_s=_median([r.get("first_step_s") for r in ok]),
        cold_start_s=setup + first if setup is not None and first is not None else None,
    )


def status_text(statuses: dict[str, int]) -> str:
    """'1 failed, 2 skipped': the counts of a configuration's statuses other than ok."""
    return ", ".join(f"{n} {s}" for s, n in statuses.items())


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def summary_document(run_id: str, run_dir: Any, configs: list) -> dict[str, Any]:
    """`--json`: the run and one object per configuration (README, "Machine-readable summary")."""
    return {
        "run_id": run_id,
        "run_dir": str(run_dir),
        "configurations": [c.to_json() for c in configs],
    }
