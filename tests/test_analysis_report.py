"""Figures, reports and comparisons from real fake-runner results."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from test_analysis_support import fake_run, run_module

from analysis import figkit, plots
from analysis.analyze import analyze
from analysis.compare import compare_runs
from analysis.compare_stats import compare_table
from analysis.load import load_runs
from analysis.plots_resources import mfu_table
from analysis.report import write_report

FACTOR = 1.5


@pytest.fixture(scope="module")
def ok_run() -> Path:
    """3 repeats × batch sizes 32 and 64: repeats are the unit, batch size is swept."""
    return fake_run("base", repeats=3, batch_sizes=(32, 64))


@pytest.fixture(scope="module")
def failed_run() -> Path:
    return fake_run("broken", fail="raise")


@pytest.fixture(scope="module")
def analysis(ok_run: Path, failed_run: Path):
    return analyze(load_runs([ok_run, failed_run]))


def test_statistics_from_raw_rows(analysis) -> None:
    configs = analysis.configs
    assert len(configs) == 2 and (configs["n_ok"] == 3).all()
    # 3 repeats: the order-statistic CI of a median is [min, max] at 75% (not 95%)
    assert (configs["ci_level"] == 0.75).all()
    row = configs.iloc[0]
    # steady epochs 1.0 1.1 0.9 1.05 0.95 → median 1.0; first epoch 2.0;
    # set-up: spawn, import, device_init, data, build, compile 0.1 s each (harness 0)
    assert row.steady_s == pytest.approx(1.0) and row.first_epoch_s == 2.0
    assert row.overhead_s == pytest.approx(1.0) and row.overhead_ratio == pytest.approx(2.0)
    assert row.setup_s == pytest.approx(0.6) and row.cold_s == pytest.approx(2.6)
    assert row.samples_per_s == pytest.approx(row.samples_per_epoch / 1.0)
    assert not row.not_steady and not row.first_not_slower and row.outlier_repeats == ""
    failed = analysis.trials[analysis.trials["status"] == "failed"]
    assert len(failed) == 1 and math.isnan(failed["steady_epoch_s"].iloc[0])
    assert any("did not finish ok" in w for w in analysis.warnings)


@pytest.mark.parametrize("spec", plots.figures()[:5], ids=lambda s: s.name)
def test_every_figure_draws(analysis, spec) -> None:
    fig = spec.draw(analysis)
    assert isinstance(fig, Figure) and fig.axes
    assert any(ax.has_data() for ax in fig.axes)
    assert len(figkit.png_bytes(fig)) > 10_000


def test_mfu_figure_needs_a_peak(analysis) -> None:
    spec = plots.figures()[5]
    assert spec.draw(analysis) is None  # the fake runner knows no peak FLOP/s
    trials = analysis.trials.assign(peak_flops_per_s_spec=1e9)
    with_peak = dataclasses.replace(analysis, trials=trials)
    table = mfu_table(with_peak)
    row = table.iloc[0]
    expected = 100 * row.flops_per_sample * row.samples_per_epoch / row.steady_epoch_s / 1e9
    assert len(table) == 6 and row.mfu_pct == pytest.approx(expected)
    fig = spec.draw(with_peak)
    assert isinstance(fig, Figure) and any(ax.has_data() for ax in fig.axes)
    bare = dataclasses.replace(analysis, trials=analysis.trials.assign(mfu=0.25))
    assert set(mfu_table(bare)["mfu_pct"]) == {25.0}


def test_mfu_of_a_data_parallel_trial_is_per_device_as_in_trials_csv(analysis) -> None:
    from bench.hardware.mfu import mfu_fields

    ok = analysis.trials[analysis.trials["status"] == "ok"].head(1)
    row = ok.iloc[0]
    # world 4 at the same per-device throughput: 4 × the samples in the same steady epoch
    four = ok.assign(parallel="data", world_size=4, samples_per_epoch=4 * row.samples_per_epoch)
    trials = pd.concat([ok.assign(world_size=1), four]).assign(peak_flops_per_s_spec=1e9)
    table = mfu_table(dataclasses.replace(analysis, trials=trials))
    single, data = table.sort_values("world_size")["mfu_pct"]
    assert data == pytest.approx(single), "not N× the single trial's MFU"
    sweep = mfu_fields(flops_per_sample=int(row.flops_per_sample),
                       samples_per_epoch=int(four.iloc[0].samples_per_epoch),
                       steady_epoch_s=float(row.steady_epoch_s), framework="fake",
                       device="cpu", device_kind="cpu", device_name="cpu", settings={},
                       calibration={"rows": [{"status": "ok", "device": "cpu", "device_name": "cpu",
                                              "dtype": "fp32", "best_flops_per_s": 1e9,
                                              "framework": "fake"}]},
                       world_size=4)  # fmt: skip
    assert data == pytest.approx(100 * sweep["mfu_calibrated"]), "one definition: trials.csv's"


def test_figures_without_ok_trials_are_absent(failed_run: Path) -> None:
    only_failed = analyze(load_runs([failed_run]))
    assert all(spec.draw(only_failed) is None for spec in plots.figures())


def test_report_files_self_contained_and_complete(ok_run, failed_run, tmp_path) -> None:
    files = write_report([ok_run, failed_run], tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in files}
    assert {"report.md", "report.html", "figures/steady_epoch.png"} <= names
    assert all(p.stat().st_size > 0 for p in files)
    html = (tmp_path / "report.html").read_text()
    md = (tmp_path / "report.md").read_text()
    assert 'src="http' not in html and "<link" not in html and "<script" not in html
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)
    assert html.count("data:image/png;base64,") == len(files) - 2
    trial_ids = load_runs([ok_run, failed_run]).trials["trial_id"]
    for text in (html, md):
        assert all(t in text for t in trial_ids)
        assert "scripted failure in epoch 3" in text and "failed" in text
        assert "AMD" in text or "cpu_model" in text  # host fingerprint
    assert "Not drawn" in md  # MFU: no column yet


def test_report_is_reproducible_and_defaults_to_run_folder(ok_run, tmp_path) -> None:
    first = write_report([ok_run], tmp_path / "a")
    second = write_report([ok_run], tmp_path / "b")
    assert first[0].read_text() == second[0].read_text()
    assert first[1].read_text() == second[1].read_text()


def test_compare_one_repeat_a_side_gives_no_verdict(tmp_path) -> None:
    # one process a side: its epochs share that process's speed, so they are not pooled
    base, slow = fake_run("ep-base"), fake_run("ep-slow", scale=FACTOR)
    text, files = compare_runs([base, slow], tmp_path)
    table = compare_table(analyze(load_runs([base, slow])))
    steady = table[table["metric"] == "steady epoch"].iloc[0]
    assert steady.n_base == 1 and steady.n_other == 1
    assert steady.ratio == pytest.approx(FACTOR)
    assert math.isnan(steady.ratio_low) and math.isnan(steady.p)
    assert not steady.significant and steady.verdict == "no verdict: 1 repeat"
    assert "* slower" not in text and "no verdict: 1 repeat" in text
    assert "fake.epoch_s" in text  # the config difference is listed
    assert {p.name for p in files} == {
        "compare.md",
        "compare.html",
        "compare.csv",
        "compare_ratios.png",
    }
    html = (tmp_path / "compare.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html


def test_compare_repeats_as_unit_and_identical_runs(ok_run: Path) -> None:
    slow = fake_run("base-slow", scale=FACTOR, repeats=3, batch_sizes=(32, 64))
    again = fake_run("base-again", repeats=3, batch_sizes=(32, 64))
    table = compare_table(analyze(load_runs([ok_run, slow, again])))
    steady = table[table["metric"] == "steady epoch"]
    assert len(steady) == 4 and (steady["n_base"] == 3).all()
    vs_slow, vs_again = (
        steady[steady["run"].str.endswith("base-slow")],
        steady.drop(steady[steady["run"].str.endswith("base-slow")].index),
    )
    for row in vs_slow.itertuples():
        assert row.ratio == pytest.approx(FACTOR)
        assert row.ratio_low - 1e-9 <= FACTOR <= row.ratio_high + 1e-9
    # fewer than 4 repeats a side: no verdict, no star
    assert (vs_slow["verdict"] == "no verdict: 3 repeats").all() and not vs_slow[
        "significant"
    ].any()
    assert (vs_again["verdict"] == "no verdict: 3 repeats").all() and (vs_again["ratio"] == 1).all()


def test_compare_four_repeats_a_side_reach_a_verdict() -> None:
    base = fake_run("four", repeats=4, batch_sizes=(32, 64))
    slow = fake_run("four-slow", scale=FACTOR, repeats=4, batch_sizes=(32, 64))
    table = compare_table(analyze(load_runs([base, slow])))
    # 2 configurations × (steady epoch, first-epoch and step-based overhead, cold start): every
    # one 1.5× or more
    assert len(table) == 8 and (table["n_base"] == 4).all()
    # the scripted repeats have no spread: Welch's ratio is exact, p = 0; BH keeps it
    assert (table["p"] == 0).all() and (table["p_adj"] == 0).all()
    assert (table["ratio_low"] == table["ratio"]).all()
    assert table["significant"].all() and (table["verdict"] == "slower").all()


def test_cli_report_and_compare(ok_run: Path, tmp_path: Path) -> None:
    done = run_module("analysis", str(ok_run), "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "report.html").is_file()
    slow = fake_run("ep-slow", scale=FACTOR)
    done = run_module(
        "analysis", "compare", str(fake_run("ep-base")), str(slow), "--out", str(tmp_path / "c")
    )
    assert done.returncode == 0, done.stderr
    assert "ratio" in done.stdout and (tmp_path / "c" / "compare.md").is_file()
    done = run_module("analysis", "compare", str(ok_run))
    assert done.returncode == 2 and "at least two" in done.stderr


@pytest.mark.slow
def test_report_renders_in_headless_chromium(ok_run: Path, failed_run: Path, tmp_path) -> None:
    """The HTML report as a browser shows it (scripts/render_report.py; Debian's chromium)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import render_report

    if render_report.find_browser() is None:
        pytest.skip("no chromium installed (apt-get install chromium)")
    write_report([ok_run, failed_run], tmp_path)
    png = render_report.render(tmp_path / "report.html", tmp_path / "report.png", 1200, 2400)
    image = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert image.shape == (2400, 1200)
    # text, tables and the embedded figures make every band of the page non-blank
    bands = image.reshape(8, -1).std(axis=1)
    assert (bands > 5).all(), bands


def test_report_opens_with_at_a_glance_then_the_phases_figure(ok_run, failed_run, tmp_path):
    write_report([ok_run, failed_run], tmp_path)
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings[:5] == [
        f"# bench report: {ok_run.name}, {failed_run.name}",
        "## At a glance",
        "### 1. First-epoch decomposition",
        "## Warnings",
        "## Configurations",
    ]
    glance = md.split("## At a glance")[1].split("### 1.")[0]
    # fake runner: steady median 1.0 s, first epoch 2.0 s, set-up 6 × 0.1 s → cold start 2.6 s
    said = "epoch 1 costs +1.00 s over a steady epoch (2.00×); cold start 2.60 s; steady epoch"
    assert f"- **fake scripted b32, seed_ffnn on cpu**: {said} 1.00 s" in glance
    assert f"- **fake scripted b64, seed_ffnn on cpu**: {said} 1.00 s" in glance
    assert "first-epoch overhead" in glance and "cold start" in glance
    assert "<strong>fake scripted b32, seed_ffnn on cpu</strong>: epoch 1 costs +1.00 s" in html
    figure = html.index('<img alt="1. First-epoch decomposition"')
    assert html.index("<h2>At a glance") < figure < html.index("<h2>Warnings")
    table = next(line for line in md.splitlines() if line.startswith("| configuration"))
    assert "| first step |" in table and "| cold start |" in table


def test_terminal_and_report_write_the_same_numbers(ok_run, tmp_path) -> None:
    import csv

    from bench.cli.progress import configuration_table
    from bench.cli.report import _value
    from bench.core.summary import configurations

    with open(ok_run / "trials.csv", newline="") as f:
        rows = [{k: _value(v) for k, v in r.items()} for r in csv.DictReader(f)]
    terminal = configuration_table(configurations(rows))
    cells = {c.header.replace("\n", " "): list(c.cells) for c in terminal.columns}
    write_report([ok_run], tmp_path)
    md, html = ((tmp_path / f"report.{x}").read_text() for x in ("md", "html"))
    report = report_rows(md)
    same = {
        "steady epoch [CI] level": "steady epoch [CI] level",
        "first epoch": "first epoch",
        "overhead": "overhead",
        "first ÷ steady": "first ÷ steady",
        "first step": "first step",
        "set-up": "set-up",
        "cold start": "cold start",
        "samples/s": "samples/s",
    }
    for terminal_column, report_column in same.items():
        assert cells[terminal_column] == [r[report_column] for r in report], terminal_column
        assert all(f">{r[report_column]}<" in html for r in report)
    assert cells["cold start"] == ["2.60 s", "2.60 s"] and cells["first step"] == ["500 ms"] * 2


def report_rows(md: str) -> list[dict[str, str]]:
    """The Configurations table of report.md as dicts."""
    lines = md.split("## Configurations")[1].strip().split("\n\n")[0].splitlines()
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [line for line in lines[2:] if line.startswith("|")]
    return [
        dict(zip(header, (c.strip() for c in r.strip("|").split("|")), strict=True)) for r in rows
    ]


def test_trials_csv_terminal_and_report_share_one_headline(ok_run) -> None:
    """trials.csv's headline columns (written by the run), the report's trial table (recomputed
    from raw rows) and the terminal summary come from one definition: equal to the last digit."""
    from analysis.summary import trial_table
    from bench.cli.report import _value
    from bench.core.summary import configurations

    runs = load_runs([ok_run])
    written = runs.trials.set_index("trial_id")
    recomputed = trial_table(runs).set_index("trial_id").loc[written.index]
    same = {"first_epoch_overhead_s": "overhead_s"}
    for column in ("setup_s", "first_step_s", "first_epoch_s", "steady_epoch_s", "samples_per_s"):
        same[column] = column
    for column, theirs in same.items():
        assert written[column].tolist() == recomputed[theirs].tolist(), column
    assert recomputed["steady_epoch_s"].notna().all() and len(recomputed) == 6
    rows = [{k: _value(str(v)) for k, v in r.items()} for r in runs.trials.to_dict("records")]
    terminal = {c.key["batch_size"]: c for c in configurations(rows)}
    report = analyze(runs).configs.set_index("batch_size")
    for batch, config in terminal.items():
        mine = report.loc[batch]
        assert (config.steady_epoch_s, config.overhead_s) == (mine.steady_s, mine.overhead_s)
        assert (config.cold_start_s, config.samples_per_s) == (mine.cold_s, mine.samples_per_s)
        assert (config.steady_ci_low_s, config.steady_ci_level) == (mine.steady_low, mine.ci_level)
