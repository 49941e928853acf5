"""Benchmark (not a test): time the analysis of ~100,000 synthetic epoch rows.

    .venv/bin/python scripts/bench_analysis.py [--epochs-rows 100000] [--keep DIR]

Writes a schema-valid run folder (every table of `bench.contract.schema`, run.json with its
SCHEMA_VERSION) holding a large sweep — 4 framework modes × 10 models × CPU (3 batch sizes ×
2 thread counts) and 2 GPUs (3 batch sizes) × repeats, 21 epochs per trial, a few failed trials,
drifting and spiky epochs — then times load_runs, analyze and write_report (target < 10 s),
and compare_runs of the run against a 5%-slower copy.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.tables import column_types  # noqa: E402
from bench.contract.schema import PHASES, SCHEMA_VERSION, TABLES, columns  # noqa: E402

VARIANTS = [("torch", "torch", "eager"), ("torch", "torch", "compile")]
VARIANTS += [("keras", "tensorflow", "graph"), ("keras", "tensorflow", "xla")]
DEVICES = [("cpu", "AMD EPYC", (1, 2)), ("cuda:0", "NVIDIA H100", (2,)), ("cuda:1", "H100", (2,))]
BATCHES = (32, 64, 128)
EPOCHS = 21
MODELS = [f"cnn{i}" for i in range(10)]


def plan(repeats: int) -> list[dict]:
    trials = []
    for repeat in range(repeats):
        for model in MODELS:
            for device, name, threads in DEVICES:
                for batch in BATCHES:
                    for t in threads:
                        for framework, backend, mode in VARIANTS:
                            order = len(trials)
                            trials.append(
                                dict(
                                    trial_id=f"{order:05d}-{framework}-{mode}-{model}-{device}"
                                    f"-b{batch}-t{t}-r{repeat}",
                                    order=order,
                                    framework=framework,
                                    backend=backend,
                                    mode=mode,
                                    cache="cold",
                                    model=model,
                                    dataset="synthetic",
                                    input_shape="32x32x3",
                                    classes=10,
                                    device=device,
                                    device_name=name,
                                    threads=t,
                                    precision="fp32",
                                    batch_size=batch,
                                    repeat=repeat,
                                    epochs=EPOCHS,
                                    steps_per_epoch=4096 // batch,
                                    samples_per_epoch=4096 // batch * batch,
                                    status="ok",
                                )
                            )
    return trials


def synthesise(run_dir: Path, run_id: str, repeats: int, scale: float) -> int:
    """Write the run folder; returns the number of epoch rows."""
    rng = np.random.default_rng(1)
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    for trial in plan(repeats):
        tid = trial["trial_id"]
        gpu = trial["device"] != "cpu"
        base = scale * (0.2 if gpu else 2.0) * (1 + MODELS.index(trial["model"]) / 5)
        base *= {"eager": 1.0, "compile": 0.7, "graph": 0.8, "xla": 0.6}[trial["mode"]]
        if rng.random() < 0.01:
            trial |= {"status": "failed", "error": "RuntimeError: synthetic failure\nlog tail"}
        rows["trials.csv"].append(trial | {"run_id": run_id})
        walls = base * rng.lognormal(0, 0.03, EPOCHS)
        walls[0] = base * 3
        walls[rng.random(EPOCHS) < 0.02] *= 1.8  # spikes
        durations = {p: float(rng.gamma(4, 0.05)) for p in PHASES}
        durations["first_step"] = float(walls[0] * 0.6)
        durations["first_epoch_rest"] = float(walls[0] * 0.4)
        start = 0.0
        for phase in PHASES:
            rows["phases.csv"].append(dict(run_id=run_id, trial_id=tid, phase=phase,
                                           start_s=start, duration_s=durations[phase]))  # fmt: skip
            start += durations[phase]
        add_epochs(rows, run_id, trial, walls, rng)
        rows["settings.csv"].append(dict(run_id=run_id, trial_id=tid, key="threads",
                                         value=str(trial["threads"])))  # fmt: skip
    for name, row_type in TABLES.items():
        write_table(run_dir / name, row_type, rows.get(name, []))
    meta = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "command": ["synthetic"],
            "config": {"sweep": {"repeats": repeats}}, "host": {"cpu_model": "AMD EPYC"},
            "started_utc": "", "finished_utc": "", "interrupted": False}  # fmt: skip
    (run_dir / "run.json").write_text(json.dumps(meta))
    return len(rows["epochs.csv"])


def add_epochs(rows: dict, run_id: str, trial: dict, walls: np.ndarray, rng) -> None:
    """epochs.csv and memory.csv rows of one trial."""
    keys = {"run_id": run_id, "trial_id": trial["trial_id"]}
    gpu = trial["device"] != "cpu"
    for epoch, wall in enumerate(walls, start=1):
        rss = int(5e8 + rng.integers(0, 1e7))
        dev = int(2e9) if gpu else None
        source = "torch_max_memory_allocated" if gpu else ""
        rows["epochs.csv"].append(
            keys
            | {"epoch": epoch, "wall_s": float(wall), "loss": 1.0 / epoch}
            | {"steps": trial["steps_per_epoch"], "samples": trial["samples_per_epoch"]}
            | {"peak_rss_bytes": rss, "peak_device_bytes": dev, "device_mem_source": source}
        )
        rows["memory.csv"].append(
            keys | {"epoch": epoch, "source": "host_vmhwm", "peak_bytes": rss}
        )
        if gpu:
            rows["memory.csv"].append(keys | {"epoch": epoch, "source": source, "peak_bytes": dev})


def write_table(path: Path, row_type: type, rows: list[dict]) -> None:
    """Every schema column, in order; a column this script does not know gets an empty cell
    (or 0 where the schema requires a value)."""
    header = columns(row_type)
    kinds = column_types(row_type)
    fill = {c: ("" if kinds[c].endswith("?") or kinds[c] == "str" else 0) for c in header}
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        for row in rows:
            out.writerow(
                "" if row.get(c) is None and c in row else row.get(c, fill[c]) for c in header
            )


def timed(label: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    print(f"{label:<28} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the runs and reports here")
    args = parser.parse_args()
    per_repeat = len(plan(1)) * EPOCHS
    repeats = max(1, round(args.epochs_rows / per_repeat))
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-analysis-"))
    runs = []
    for name, scale in (("synthetic", 1.0), ("synthetic-slower", 1.05)):
        (root / name).mkdir(parents=True, exist_ok=True)
        n = synthesise(root / name, name, repeats, scale)
        runs.append(root / name)
    print(f"{n:,} epoch rows per run, {len(plan(repeats)):,} trials, folder {root}")

    from analysis.analyze import analyze
    from analysis.compare import compare_runs
    from analysis.load import load_runs
    from analysis.report import write_report

    start = time.perf_counter()
    loaded = timed("load_runs", load_runs, runs[:1])
    timed("analyze (statistics)", analyze, loaded)
    timed("write_report (all)", write_report, runs[:1], root / "report")
    timed("compare_runs (2 runs)", compare_runs, runs, root / "compare")
    print(f"{'total':<28} {time.perf_counter() - start:7.2f} s")


if __name__ == "__main__":
    main()
