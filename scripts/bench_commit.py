"""Benchmark: the cost of committing one trial's rows as a run grows (issue 27).

Commits N trials' rows (the shape of a real fake-runner trial: 11 phases, 6 epochs, 30 samples,
settings) into a fresh run folder with `RunWriter.commit`, and for comparison with the previous
method — every table rewritten whole after each trial — and prints the median cost of the
first and the last 50 trials of each.

    python scripts/bench_commit.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.contract.schema import PHASES, TABLES, EpochRow, PhaseRow, SampleRow, SettingRow
from bench.contract.schema import TrialRow as Row
from bench.core import results


def trial_rows(i: int) -> dict[str, list]:
    tid = f"{i:04d}-fake-scripted-seed_ffnn-cpu-b64-t2-r{i}"
    trial = Row(run_id="r", trial_id=tid, order=i, framework="fake", backend="fake",
                mode="scripted", cache="cold", model="seed_ffnn", model_options="",
                dataset="synthetic", input_shape="28x28x1", classes=10, device="cpu",
                device_name="Intel Xeon", threads=2, precision="fp32", batch_size=64, repeat=i,
                epochs=6, steps_per_epoch=10, samples_per_epoch=640, status="ok",
                steady_epoch_s=0.6, first_epoch_s=1.2, setup_s=0.4)  # fmt: skip
    return {
        "trials.csv": [trial],
        "phases.csv": [PhaseRow("r", tid, p, 0.1 * k, 0.1) for k, p in enumerate(PHASES)],
        "epochs.csv": [EpochRow("r", tid, e, 0.6, 10, 640, 0.5) for e in range(1, 7)],
        "samples.csv": [SampleRow("r", tid, 0.1 * k, 10**8, 50.0) for k in range(30)],
        "settings.csv": [SettingRow("r", tid, f"key{k}", "value") for k in range(8)],
    }


def rewrite_all(writer: results.RunWriter, rows: dict[str, list]) -> None:
    """The previous method: add the rows, rewrite every table whole."""
    for table, table_rows in rows.items():
        writer.rows[table].extend(table_rows)
    writer.rewrite()


def measure(n: int, method) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        writer = results.RunWriter(Path(tmp))
        writer.create()
        costs = []
        for i in range(n):
            rows = trial_rows(i)
            began = time.perf_counter()
            method(writer, rows)
            costs.append(time.perf_counter() - began)
        results.lock.release(Path(tmp))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    n = parser.parse_args().trials
    print(f"{n} trials, {len(TABLES)} tables; median seconds per trial")
    for name, method in (
        ("commit (append)", results.RunWriter.commit),
        ("rewrite all", rewrite_all),
    ):
        costs = measure(n, method)
        first, last = statistics.median(costs[:50]), statistics.median(costs[-50:])
        print(f"{name:16} first 50: {first * 1e3:7.2f} ms   last 50: {last * 1e3:7.2f} ms   "
              f"last/first: {last / first:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
