"""One line per configuration: what `bench run` prints at its end and `--json` hands to scripts.

A configuration is every trial that differs only in its repeat: the same values in every
identity column of the schema (`bench.contract.schema.IDENTITY_COLUMNS`). Per
configuration, the figures `bench.contract.headline` defines (the report computes them there
too): the median steady epoch over its `ok` repeats with its order-statistic interval (printed
with its exact confidence), the median first epoch, overhead = median first − median steady,
first ÷ steady, the median set-up, samples/s at the median steady epoch, the median first step
and the cold start (median set-up + median first epoch); and the largest peak RSS. Pure Python:
the parent has no NumPy or pandas to spare for this.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.contract.headline import derived, median, median_interval
from bench.contract.schema import IDENTITY_COLUMNS
from bench.core.labels import labelled, parts

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


def label_tokens(key: dict[str, Any]) -> list[str]:
    """The words of a configuration's label, each one setting: framework[.backend]/mode, the
    cache, model[options], shape, device, then every labelled setting (`bench.core.labels`)."""
    fw, backend = key["framework"], key["backend"]
    name = fw if backend in ("tensorflow", fw) else f"{fw}.{backend}"
    options = f"[{key['model_options']}]" if key.get("model_options") else ""
    rest = parts([c for c in labelled() if c not in ("cache", "repeat")], key)
    head = [f"{name}/{key['mode']}", *parts(("cache",), key), f"{key['model']}{options}"]
    return [*head, str(key["input_shape"]), f"on {key['device']}", *rest]


def join_tokens(tokens: list[str]) -> str:
    """Label words as a label reads: spaces up to the device, commas after it."""
    at = next((i for i, t in enumerate(tokens) if t.startswith("on ")), None)
    if at is None:
        return ", ".join(tokens)
    return " ".join(tokens[: at + 1]) + "".join(f", {t}" for t in tokens[at + 1 :])


def label(key: dict[str, Any]) -> str:
    """framework[.backend]/mode[ warm] model[options] shape on device, b64, t2[, bf16]
    [, autotune=on][, dp2][, loader]: every labelled setting of the key as `bench.core.labels`
    writes it, in declaration order (quiet ones only off their defaults)."""
    return join_tokens(label_tokens(key))


def _identity_words(key: dict[str, Any]) -> set[str]:
    """The words a short label always keeps: framework/mode and the model (with options)."""
    options = f"[{key['model_options']}]" if key.get("model_options") else ""
    return {label_tokens(key)[0], f"{key['model']}{options}"}


def varying_labels(configs: list[Configuration]) -> tuple[list[str], str]:
    """Short labels — framework/mode, the model and the words that differ between
    configurations — and the words every configuration shares, for one header line."""
    tokens = [label_tokens(c.key) for c in configs]
    if not tokens:
        return [], ""
    common = [t for t in tokens[0] if all(t in other for other in tokens[1:])]
    short = []
    for c, words in zip(configs, tokens, strict=True):
        keep = _identity_words(c.key)
        short.append(" ".join(t for t in words if t not in common or t in keep))
    shared = [t for t in common if t not in _identity_words(configs[0].key)]
    return short, join_tokens(shared)


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
    steady = median(steady_values)
    low = high = level = None
    if steady_values:
        low, high, level = median_interval(steady_values)
    first = median(r["first_epoch_s"] for r in ok)
    setup = median(r["setup_s"] for r in ok)
    figures = derived(first, steady, setup, key["samples_per_epoch"] or 0)
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
        overhead_s=figures["overhead_s"],
        first_over_steady=figures["first_over_steady"],
        setup_s=setup,
        samples_per_s=figures["samples_per_s"],
        peak_rss_bytes=max(rss) if rss else None,
        first_step_s=median(r.get("first_step_s") for r in ok),
        cold_start_s=figures["cold_start_s"],
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
    """`--json`: the run and one object per configuration (docs/cli.md#machine-readable-summary)."""
    return {
        "run_id": run_id,
        "run_dir": str(run_dir),
        "configurations": [c.to_json() for c in configs],
    }
