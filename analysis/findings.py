"""What the tables imply: compile break-even, memory peaks by source, and the warnings list.

- `break_even_table`: for each configuration run in `eager` and another mode, after how many
  epochs the other mode has finished no later than eager, counting its costlier start.
- `memory_table`: per trial and memory source, the largest per-epoch peak (memory.csv where the
  schema has it, else epochs.csv's peak_rss_bytes / peak_device_bytes + device_mem_source).
- `warnings`: not-yet-steady epochs, a first epoch that is not slower, outliers, failed trials;
  `loss_warnings`: real data whose training loss did not fall; `spec_peak_notes`: why a GPU
  trial's `mfu_spec` is empty (a MIG slice, a GPU not in the table) or which peak stood in.
"""

from __future__ import annotations

import pandas as pd

from analysis import drift, stats
from analysis.load import Runs
from analysis.numbers import number, percent, seconds
from analysis.summary import CONFIG

BASELINE_MODE = "eager"
HOST_SOURCE = "host_vmhwm"


def break_even_table(configs: pd.DataFrame) -> pd.DataFrame:
    """One row per (configuration, non-eager mode) that has an eager twin in the same run, in
    the order of the configurations table (grouped by everything but the mode)."""
    key = [c for c in CONFIG if c != "mode"]
    group = configs.groupby(key, sort=False, dropna=False).ngroup()
    eager = configs["mode"] == BASELINE_MODE
    base = configs[eager].assign(group=group[eager]).drop_duplicates("group")
    other = configs[~eager].assign(group=group[~eager])
    pairs = other.merge(base, on="group", suffixes=("", "_base"))  # inner: keeps other's order
    pairs = pairs.sort_values("group", kind="stable")
    columns = ("cold_s_base", "steady_s_base", "cold_s", "steady_s")
    rows = pairs[list(columns)].itertuples(index=False, name=None)
    break_even = [stats.break_even_epochs(*v) for v in rows]
    return (
        pd.DataFrame(
            {
                "configuration": pairs["label"].to_numpy(),
                "eager cold start": pairs["cold_s_base"].to_numpy(),
                "eager steady": pairs["steady_s_base"].to_numpy(),
                "mode cold start": pairs["cold_s"].to_numpy(),
                "mode steady": pairs["steady_s"].to_numpy(),
                "break-even epoch": break_even,
            }
        )
        if len(pairs)
        else pd.DataFrame()
    )


def memory_table(runs: Runs, trials: pd.DataFrame) -> pd.DataFrame:
    """Long table: run_id, trial_id, source, peak_bytes (max over the trial's epochs), ok only."""
    keys = ["run_id", "trial_id"]
    if "memory.csv" in runs.extra:
        long = runs.extra["memory.csv"][[*keys, "source", "peak_bytes"]]
    else:
        ep = runs.epochs
        host = ep[keys].assign(source=HOST_SOURCE, peak_bytes=ep["peak_rss_bytes"])
        dev = ep[keys].assign(source=ep["device_mem_source"], peak_bytes=ep["peak_device_bytes"])
        long = pd.concat([host, dev[dev["source"] != ""]], ignore_index=True)
    long = long.dropna(subset=["peak_bytes"])
    ok = trials.loc[trials["status"] == "ok", keys]
    peaks = long.merge(ok, on=keys).groupby([*keys, "source"], as_index=False)["peak_bytes"].max()
    peaks["peak_bytes"] = peaks["peak_bytes"].astype(float)
    return peaks


MAX_LISTED = 8  # per kind of warning; the rest are counted


def warnings(trials: pd.DataFrame, configs: pd.DataFrame) -> list[str]:
    """Plain-language warnings, most important first; each kind lists at most MAX_LISTED."""
    out = []
    bad = trials[trials["status"] != "ok"]
    if len(bad):
        out.append(
            f"{len(bad)} of {len(trials)} trials did not finish ok "
            f"({', '.join(f'{n} {s}' for s, n in bad['status'].value_counts().items())}); "
            "they are listed under Trials and left out of every statistic."
        )
    out += config_warnings(configs)
    flagged = trials[trials["outlier_epochs"] != ""]
    if len(flagged):
        examples = ", ".join(
            f"{r.trial_id} (epoch {r.outlier_epochs})" for r in flagged.head(3).itertuples()
        )
        out.append(
            f"{len(flagged)} trial(s) have outlier steady epochs by MAD, e.g. {examples}; "
            "the Trials table lists them. The steady median is robust to them."
        )
    few = configs[configs["n_ok"] < stats.VERDICT_REPEATS]
    if len(few):
        out.append(
            f"{len(few)} configuration(s) have fewer than {stats.VERDICT_REPEATS} ok repeats: "
            "their steady-time CI reaches only the confidence printed beside it (75% with 3 "
            "repeats, 50% with 2, none with 1) and a comparison gives them no verdict "
            "(add repeats; 6 reach 95%)."
        )
    return out


def loss_warnings(trials: pd.DataFrame, epochs: pd.DataFrame) -> list[str]:
    """Real data whose training loss did not fall from the first epoch to the last: a broken
    training loop (or a learning rate that does nothing) times the wrong work. Trials are
    keyed by (run_id, trial_id): trial ids repeat across runs."""
    keys = ["run_id", "trial_id"]
    real = trials.loc[(trials["status"] == "ok") & (trials["dataset"] != "synthetic"), keys]
    losses = epochs[[*keys, "epoch", "loss"]].dropna(subset=["loss"]).merge(real, on=keys)
    ends = losses.sort_values("epoch", kind="stable").groupby(keys)["loss"]
    ends = ends.agg(["first", "last", "size"])
    stuck = [
        f"{trial_id}: the training loss did not fall on real data in run {run_id} "
        f"({number(first)} in epoch 1, {number(last)} in the last); check the training loop "
        "and the learning rate before trusting its timings."
        for (run_id, trial_id), first, last, size in zip(
            ends.index, ends["first"], ends["last"], ends["size"], strict=True
        )
        if size >= 2 and not last < first
    ]
    return _listed(stuck, "more trials whose loss did not fall")


def spec_peak_notes(trials: pd.DataFrame) -> list[str]:
    """One line per GPU device and `peak_spec_note` of its ok trials (folders written before
    schema version 4 have no notes)."""
    if "peak_spec_note" not in trials:
        return []
    noted = trials[
        (trials["status"] == "ok")
        & trials["device"].str.startswith("cuda")
        & (trials["peak_spec_note"] != "")
    ]
    groups = noted.groupby(["device", "device_name", "peak_spec_note"], sort=False)
    return [
        f"mfu_spec on {device} ({name}), {len(group)} trial(s): {note}."
        for (device, name, note), group in groups
    ]


def config_warnings(configs: pd.DataFrame) -> list[str]:
    """Not yet steady, first epoch not slower, outlier repeats: per configuration."""
    drifting = configs[configs["not_steady"].astype(bool)]
    out = _listed(
        [
            f"{r.label}: not yet steady — epochs 2..{r.epochs - bool(r.final_epoch_slow)} "
            f"still drift by {percent(r.trend_drift, signed=True)} (Theil–Sen); train more "
            "epochs before trusting the steady time."
            for r in drifting.itertuples(index=False)
        ],
        "more configurations are not yet steady",
    )
    out += untested_drift(configs) + final_epoch_warnings(configs)
    flat = configs[configs["first_not_slower"].astype(bool)]
    out += _listed(
        [
            f"{r.label}: the first epoch ({seconds(r.first_epoch_s)}) is not slower than the "
            f"steady median ({seconds(r.steady_s)}); the start-up cost lies elsewhere (set-up "
            "phases) or the epochs are noisy."
            for r in flat.itertuples(index=False)
        ],
        "more configurations have a first epoch that is not slower",
    )
    odd = configs[configs["outlier_repeats"] != ""]
    return out + _listed(
        [f"{r.label}: outlier repeat(s) by MAD: {r.outlier_repeats}." for r in odd.itertuples()],
        "more configurations have an outlier repeat",
    )


def untested_drift(configs: pd.DataFrame) -> list[str]:
    """One line naming the configurations whose drift could not be tested, and why."""
    untested = configs[~configs["drift_tested"].astype(bool)]
    if untested.empty:
        return []
    which = (
        "every configuration"
        if len(untested) == len(configs)
        else (f"{len(untested)} of {len(configs)} configurations, e.g. {untested['label'].iloc[0]}")
    )
    return [
        f"drift not tested for {which}: the test needs at least {drift.TREND_MIN_REPEATS} ok "
        f"repeats with at least {drift.TREND_MIN_EPOCHS} steady epochs each (epochs ≥ "
        f"{drift.TREND_MIN_EPOCHS + 1}, or one more where the last epoch is slow); whether "
        "the steady epochs still move is unknown."
    ]


def final_epoch_warnings(configs: pd.DataFrame) -> list[str]:
    """A slow last epoch, told apart from drift (`analysis.drift.final_epoch`)."""
    slow = configs[configs["final_epoch_slow"].astype(bool)]
    return _listed(
        [
            f"{r.label}: the last epoch ({r.epochs}) is "
            f"{percent(r.final_epoch_excess, signed=True)} slower than epochs 2..{r.epochs - 1} "
            "— a final-epoch effect of the training loop, not drift: "
            "more epochs will not remove it. The steady median keeps it (one slow epoch barely "
            "moves a median); the drift test leaves it out. The harness times every epoch of "
            "every framework alike; `bench selfcheck` shows whether a bare loop has it too."
            for r in slow.itertuples(index=False)
        ],
        "more configurations have a slow last epoch",
    )


def _listed(items: list[str], rest: str) -> list[str]:
    if len(items) <= MAX_LISTED:
        return items
    return [*items[:MAX_LISTED], f"… and {len(items) - MAX_LISTED} {rest}."]
