"""The fleet view: the same configurations on several machines, side by side (issue 16).

Two "machines" are made as a user's two partitions would make them: real fake-runner run
folders, the second copied and given another node's host fingerprint (run.json), trials.csv
`device_name`/`node`, its own repeat-to-repeat spread and an energy meter (epochs.csv
`energy_j`); the first machine measured no energy.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_synth import make_runs
from test_analysis_support import copy_run, fake_run

from analysis import stats
from analysis.analyze import analyze
from analysis.compare import compare_runs
from analysis.fleet import METRICS, fleet_blocks, fleets, metric_table
from analysis.load import load_runs
from analysis.numbers import MISSING, level, number, seconds, seconds_interval
from analysis.report import write_report

XEON = "Intel(R) Xeon(R) Platinum 8480+ (node b)"
SPREAD = (1.0, 1.08, 0.95)  # machine b's repeats: each process its own speed
WATTS = 150.0


def _rewrite(path: Path, change) -> None:
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    header = list(rows[0])
    for row in rows:
        change(row)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def other_machine(run: Path, dest: Path, host: str, model: str = XEON) -> Path:
    """A copy of `run` as another node of CPU `model` would have written it: its host
    fingerprint, device_name and node, repeat r's epochs SPREAD[r] × as long, and an energy
    meter reading WATTS × each epoch's wall time."""
    dest.mkdir(parents=True, exist_ok=True)
    copy = copy_run(run, dest)
    meta = json.loads((copy / "run.json").read_text())
    meta["host"] = meta["host"] | {"hostname": host, "cpu_model": model}
    (copy / "run.json").write_text(json.dumps(meta))
    repeat: dict[str, int] = {}

    def trial(row: dict) -> None:
        row |= {"device_name": model, "node": host}
        repeat[row["trial_id"]] = int(row["repeat"])

    def epoch(row: dict) -> None:
        wall = float(row["wall_s"]) * SPREAD[repeat[row["trial_id"]] % len(SPREAD)]
        row |= {"wall_s": repr(wall), "energy_j": repr(WATTS * wall)}

    _rewrite(copy / "trials.csv", trial)
    _rewrite(copy / "epochs.csv", epoch)
    return copy


@pytest.fixture(scope="module")
def run_a() -> Path:
    """Machine a: batch sizes 32 and 64, 3 repeats, no energy meter."""
    return fake_run("fleet-a", repeats=3, batch_sizes=(32, 64))


@pytest.fixture(scope="module")
def run_b(tmp_path_factory) -> Path:
    """Machine b (another CPU model, node-b): batch size 32 only, twice as slow."""
    plain = fake_run("fleet-b", scale=2.0, repeats=3, batch_sizes=(32,))
    return other_machine(plain, tmp_path_factory.mktemp("b"), "node-b")


@pytest.fixture(scope="module")
def two(run_a: Path, run_b: Path):
    return analyze(load_runs([run_a, run_b]))


def _machine_a(run: Path) -> str:
    return json.loads((run / "run.json").read_text())["host"]["cpu_model"]


def _rows(fleet, title: str) -> dict[str, list[str]]:
    """A metric's table as {configuration label: cells by machine}."""
    write = dict(METRICS)[title]
    table = metric_table(fleet, write)
    assert table.headers == ["configuration", *fleet.machines]
    return {row[0]: row[1:] for row in table.rows}


def _label(rows: dict[str, list[str]], batch: int) -> str:
    (label,) = [k for k in rows if f"b{batch}" in k.split(" · ")]
    return label


def test_the_columns_are_the_two_machines(two, run_a: Path) -> None:
    (fleet,) = fleets(two)
    assert fleet.kind == "cpu"
    assert fleet.machines == [_machine_a(run_a), XEON]  # in the order the runs were given


def test_steady_cell_is_each_machines_median_with_its_ci(two) -> None:
    (fleet,) = fleets(two)
    rows = _rows(fleet, "Steady epoch [CI] level")
    cells = rows[_label(rows, 32)]
    configs = two.configs[two.configs["batch_size"] == 32]
    for machine_cell, run_id in zip(cells, two.runs.run_ids, strict=True):
        (c,) = configs[configs["run_id"] == run_id].itertuples(index=False)
        expected = (
            f"{seconds_interval(c.steady_s, c.steady_low, c.steady_high)} {level(c.ci_level)}"
        )
        assert machine_cell == expected
    # machine b: its three repeats' steady medians, 2 × 1.0 s × SPREAD
    b = two.trials[(two.trials["run_id"] == two.runs.run_ids[1]) & (two.trials["status"] == "ok")]
    est = stats.median_ci(b["steady_epoch_s"])
    assert est.value == pytest.approx(2.0) and est.low < est.high
    assert cells[1] == f"{seconds_interval(est.value, est.low, est.high)} {level(est.level)}"
    assert cells[1] == "2.00 s [1.90, 2.16] 75%"


def test_other_metrics_and_a_configuration_one_machine_did_not_run(two) -> None:
    (fleet,) = fleets(two)
    overhead = _rows(fleet, "First-epoch overhead")
    rate = _rows(fleet, "Samples/s")
    label = _label(overhead, 32)
    # a: first 2.0 s − steady 1.0 s; b: first 2 × 2.0 × median(SPREAD) − steady 2.0 s
    assert overhead[label] == [seconds(1.0), seconds(4.0 * 1.0 - 2.0)]
    samples = int(two.configs["samples_per_epoch"].iloc[0])
    assert rate[label] == [number(samples / 1.0), number(samples / 2.0)]
    for title, _ in METRICS:  # batch 64 ran on machine a only (which has no energy meter)
        rows = _rows(fleet, title)
        cells = rows[_label(rows, 64)]
        assert (cells[0] != MISSING or "Energy" in title) and cells[1] == MISSING


def test_energy_is_missing_where_not_measured(two) -> None:
    (fleet,) = fleets(two)
    rows = _rows(fleet, "Energy per steady epoch [J]")
    a, b = rows[_label(rows, 32)]
    assert a == MISSING  # machine a had no meter
    # per repeat the median of epochs 2..E (WATTS × 2 × 1.0 s × SPREAD[r]), then over repeats
    assert b == number(np.median([WATTS * 2.0 * s for s in SPREAD])) == "300"


def test_a_single_machine_has_no_fleet(run_a: Path, tmp_path: Path) -> None:
    a = analyze(load_runs([run_a]))
    assert fleets(a) == [] and fleet_blocks(a) == []
    write_report([run_a], tmp_path)
    assert "## Fleet" not in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_report_has_the_fleet_after_the_configurations(run_a, run_b, tmp_path) -> None:
    write_report([run_a, run_b], tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.index("## Configurations") < md.index("## Fleet") < md.index("## Compile")
    fleet = md[md.index("## Fleet") : md.index("## Compile")]
    assert f"| configuration | {_machine_a(run_a)} | {XEON} |" in fleet
    assert "### Energy per steady epoch [J]" in fleet and "2.00 s [1.90, 2.16] 75%" in fleet
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Fleet</h2>" in page and "<th>Intel(R) Xeon(R) Platinum 8480+ (node b)</th>" in page


def test_compare_of_two_machines_holds_the_fleet(run_a, run_b, tmp_path) -> None:
    compare_runs([run_a, run_b], tmp_path)
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert "## Fleet" in md and "2.00 s [1.90, 2.16] 75%" in md
    assert f"| configuration | {_machine_a(run_a)} | {XEON} |" in md
    assert "<h2>Fleet</h2>" in (tmp_path / "compare.html").read_text(encoding="utf-8")


def test_hosts_of_one_model_are_pooled(run_a, run_b, tmp_path) -> None:
    c = other_machine(
        fake_run("fleet-b", scale=2.0, repeats=3, batch_sizes=(32,)), tmp_path, "node-c"
    )
    a = analyze(load_runs([run_a, run_b, c]))
    (fleet,) = fleets(a)
    assert fleet.machines == [_machine_a(run_a), XEON]
    cell = fleet.cells[(fleet.cells["machine"] == XEON)].iloc[0]
    assert cell["n"] == 6  # both hosts' repeats count together
    blocks = fleet_blocks(a)
    (notes,) = [b for b in blocks if hasattr(b, "items")]
    assert notes.items == [
        f"{XEON}: 2 hosts pooled (node-b, node-c), the same hardware model; its cells count "
        "their repeats together."
    ]


def _synthetic(configs_by_run: dict[str, list[dict]], cpu: dict[str, str]):
    parts = [
        make_runs([r], configs, repeats=3, seed=i)
        for i, (r, configs) in enumerate(configs_by_run.items())
    ]
    runs = parts[0]
    joined = {
        t: pd.concat([getattr(p, t) for p in parts], ignore_index=True)
        for t in ("trials", "phases", "epochs")
    }
    frame = pd.DataFrame(
        {"run_id": list(cpu), "cpu_model": list(cpu.values()), "hostname": list(cpu)}
    )
    meta = {r: {"run_id": r} for r in cpu}
    return analyze(dataclasses.replace(runs, **joined, runs=frame, meta=meta))


def test_gpus_by_name_cpus_by_model_each_kind_its_own_fleet() -> None:
    h100 = {"device": "cuda:0", "device_name": "NVIDIA H100 80GB HBM3"}
    a = _synthetic(
        {
            "a100": [
                {"device": "cuda:0", "device_name": "NVIDIA A100-SXM4-80GB"},
                {"device": "cpu"},
            ],
            # two H100s of one node: one machine, their trials pooled
            "h100": [h100, h100 | {"device": "cuda:1"}, {"device": "cpu"}],
        },
        {"a100": "AMD EPYC 7763", "h100": "AMD EPYC 7763"},  # one CPU model: no CPU fleet
    )
    (fleet,) = fleets(a)
    assert fleet.kind == "cuda"
    assert fleet.machines == ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3"]
    assert list(fleet.cells["n"]) == [3, 6]  # one aligned configuration


def test_a_thread_sweep_on_one_machine_stays_two_rows() -> None:
    a = _synthetic(
        {"x": [{"threads": 1}, {"threads": 2}], "y": [{"threads": 1}, {"threads": 2}]},
        {"x": "CPU X", "y": "CPU Y"},
    )
    (fleet,) = fleets(a)
    assert fleet.machines == ["CPU X", "CPU Y"]
    rows = _rows(fleet, "Samples/s")
    assert len(rows) == 2 and all(MISSING not in cells for cells in rows.values())
    # each machine's own default thread count (one value each): one row, aligned
    a = _synthetic({"x": [{"threads": 64}], "y": [{"threads": 112}]}, {"x": "CPU X", "y": "CPU Y"})
    (fleet,) = fleets(a)
    assert len(_rows(fleet, "Samples/s")) == 1
