"""Simulation (seeded): what `compare`'s verdicts and the report's warnings promise, measured.

    .venv/bin/python scripts/simulate_verdicts.py [--small] [--seed N]

Synthetic runs (`analysis.simulate`, VM-like noise unless said otherwise: epoch σ 0.10 with
Student-t₃ tails, epochs AR(1) 0.5 inside a process, process σ 0.08) go through the project's
own functions — `summary.trial_table` → `compare_stats.compare_table` → `compare.regressions`
for the verdicts, `summary.config_table` for the warnings — and the script prints, as markdown,
the tables of docs/statistics.md ("Simulated: what a verdict and a warning are worth"):

1. the false-positive rate of `compare` when nothing differs, by repeats a side: per row on
   raw p, and per comparison (any row starred after Benjamini–Hochberg) with 1 and 20
   configurations, and how often `--fail-above 1.10` fails;
2. power: how often one regressed configuration among 1, 4 and 20 gets its steady-epoch row
   starred `slower`, for regressions of 5 %, 10 %, 20 % and 2×, at 4, 6 and 10 repeats;
3. the warnings on stationary data (epochs AR(1) 0.7): how often a configuration gets an
   outlier repeat, an outlier epoch, "not yet steady" or a slow last epoch, and their power.

Each comparison of K configurations is one family for Benjamini–Hochberg (K × 3 metric rows),
as in a real `bench compare`; many comparisons are simulated at once and decided one by one
(`compare_stats.decide` per comparison). The full run takes a few minutes on 2 cores;
`--small` (a tenth of the draws) is what tests/test_simulation.py runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import compare_stats, summary  # noqa: E402
from analysis.compare import regressions  # noqa: E402
from analysis.simulate import VM, Noise, make_runs, trial_view  # noqa: E402

REPEATS = (4, 6, 10)
FAMILIES = (1, 4, 20)  # configurations in one comparison
EFFECTS = (1.05, 1.10, 1.20, 2.0)
GATE = 1.10  # the --fail-above example of README.md and docs/statistics.md
DRAWS = {1: 1500, 4: 600, 20: 200}  # comparisons per cell, by family size (full run)
STATIONARY = replace(VM, ar=0.7)
WARN_REPEATS = (3, 4, 6, 10)
WARN_DRAWS = 2000


def comparisons(repeats: int, k: int, effect: float, draws: int, seed: int) -> pd.DataFrame:
    """`draws` comparisons of `k` configurations whose first is `effect` × slower in the
    other run: every compare row, Benjamini–Hochberg within each comparison."""
    configs = [{"model": f"d{draw}-{i}"} for draw in range(draws) for i in range(k)]
    scale = {"other": ([effect] + [1.0] * (k - 1)) * draws}
    runs = make_runs(["base", "other"], configs, repeats, seed, scale=scale, noise=VM)
    table = compare_stats.compare_table(trial_view(runs))
    parts = table["model"].str.extract(r"d(\d+)-(\d+)").astype(int)
    table = table.assign(draw=parts[0], index_in=parts[1]).drop(columns=DECIDED)
    return compare_stats.decide(table, family=["draw"])


DECIDED = ["p_adj", "significant", "verdict"]  # decided again, one comparison at a time


def null_rates(table: pd.DataFrame) -> dict[str, float]:
    """Rows significant on raw p; comparisons with any star after BH; gate failures."""
    draws = table["draw"].nunique()
    return {
        "raw": float(compare_stats.significant_rows(table, table["p"]).mean()),
        "any star": float(table.groupby("draw")["significant"].any().mean()),
        "gate": regressions(table, GATE)["draw"].nunique() / draws,
    }


def power(table: pd.DataFrame) -> float:
    """Share of comparisons whose regressed configuration's steady-epoch row is `* slower`."""
    row = table[(table["index_in"] == 0) & (table["metric"] == "steady epoch")]
    return float((row["significant"] & (row["verdict"] == "slower")).mean())


def verdict_tables(scale: float, seed: int) -> dict:
    """Null rates and power by repeats (see the module docstring)."""
    draws = {k: max(20, int(n * scale)) for k, n in DRAWS.items()}
    out: dict = {"null": {}, "power": {}}
    for i, repeats in enumerate(REPEATS):
        for j, k in enumerate(FAMILIES):
            for e, effect in enumerate((1.0, *EFFECTS)):
                cell_seed = seed + 1000 * i + 100 * j + e
                table = comparisons(repeats, k, effect, draws[k], cell_seed)
                if effect == 1.0:
                    out["null"][(repeats, k)] = null_rates(table)
                else:
                    out["power"][(repeats, k, effect)] = power(table)
    return out


def warning_rates(
    noise: Noise, repeats: int, draws: int, seed: int, drift: float = 0.0, slow: float = 1.0
) -> dict[str, float]:
    """Per configuration of one run (6 epochs: 5 steady), the share flagged by each warning.
    `slow` makes repeat 0 of every configuration that much slower (an outlier repeat)."""
    configs = [{"model": f"w{i}"} for i in range(draws)]
    runs = make_runs(["run"], configs, repeats, seed, epochs=6, drift=drift, noise=noise)
    if slow != 1.0:
        first = runs.trials.loc[runs.trials["repeat"] == 0, "trial_id"]
        runs.epochs.loc[runs.epochs["trial_id"].isin(first), "wall_s"] *= slow
    trials = summary.trial_table(runs)
    configs_table = summary.config_table(trials, runs.epochs)
    epoch_flags = trials.groupby("model")["outlier_epochs"].apply(lambda s: (s != "").any())
    return {
        "outlier repeat": float((configs_table["outlier_repeats"] != "").mean()),
        "outlier epoch": float(epoch_flags.mean()),
        "not yet steady": float(configs_table["not_steady"].astype(bool).mean()),
        "slow last epoch": float(configs_table["final_epoch_slow"].astype(bool).mean()),
        "drift tested": float(configs_table["drift_tested"].astype(bool).mean()),
    }


def warning_tables(scale: float, seed: int) -> dict:
    draws = max(200, int(WARN_DRAWS * scale))
    normal = replace(STATIONARY, tail_df=None)
    out: dict = {}
    for repeats in WARN_REPEATS:
        out[("t3", repeats)] = warning_rates(STATIONARY, repeats, draws, seed + repeats)
        out[("normal", repeats)] = warning_rates(normal, repeats, draws, seed + 50 + repeats)
        out[("drift 3%", repeats)] = warning_rates(
            STATIONARY, repeats, draws, seed + 100 + repeats, drift=0.03
        )
        out[("slow repeat 1.5×", repeats)] = warning_rates(
            STATIONARY, repeats, draws, seed + 200 + repeats, slow=1.5
        )
    return out


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def render(verdicts: dict, warnings: dict) -> str:
    lines = [
        "Null (nothing differs), VM-like noise: share of rows significant on raw p (comparisons "
        "of 1 / 20 configurations); share of comparisons with any star after BH; "
        f"`--fail-above {GATE:.2f}` failures (20 configurations).",
        "",
        "| repeats a side | raw p, per row (1 / 20 configs) | any star, 1 config "
        "| any star, 20 configs | gate fails, 20 configs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in REPEATS:
        one, many = verdicts["null"][(r, 1)], verdicts["null"][(r, 20)]
        lines.append(
            f"| {r} | {pct(one['raw'])} / {pct(many['raw'])} | {pct(one['any star'])} | "
            f"{pct(many['any star'])} | {pct(many['gate'])} |"
        )
    header = " | ".join(f"{e - 1:.0%} slower" if e < 2 else "2× slower" for e in EFFECTS)
    lines += [
        "",
        "Power: one configuration regressed among K; share of comparisons starring its "
        "steady-epoch row `* slower`.",
        "",
        f"| repeats | K | {header} |",
        "| --- | --- |" + " --- |" * len(EFFECTS),
    ]
    for r in REPEATS:
        for k in FAMILIES:
            cells = " | ".join(pct(verdicts["power"][(r, k, e)]) for e in EFFECTS)
            lines.append(f"| {r} | {k} | {cells} |")
    return "\n".join(lines + ["", *render_warnings(warnings)])


def render_warnings(warnings: dict) -> list[str]:
    kinds = ["outlier repeat", "outlier epoch", "not yet steady", "slow last epoch"]
    lines = [
        "Warnings per configuration, 6 epochs (5 steady), epochs AR(1) 0.7 with σ 0.10, process "
        "σ 0.08: stationary (Student-t₃ or normal epochs), a drift of 3 % per epoch, or repeat 0 "
        "1.5× slower.",
        "",
        "| data | repeats | " + " | ".join(kinds) + " | drift tested |",
        "| --- | --- |" + " --- |" * (len(kinds) + 1),
    ]
    for (data, repeats), rates in warnings.items():
        cells = " | ".join(pct(rates[k]) for k in [*kinds, "drift tested"])
        lines.append(f"| {data} | {repeats} | {cells} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tenth of the draws (a test)")
    parser.add_argument("--seed", type=int, default=2026, help="the seed of every draw")
    args = parser.parse_args(argv)
    scale = 0.1 if args.small else 1.0
    start = time.perf_counter()
    verdicts = verdict_tables(scale, args.seed)
    warnings = warning_tables(scale, args.seed)
    print(render(verdicts, warnings))
    print(f"\n({time.perf_counter() - start:.0f} s, seed {args.seed})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
