"""`bench calibrate`: tiny CPU runs in real child processes, the document, errors, the timer."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from bench.cli import calibrate as cli_cal
from bench.errors import UsageError
from bench.hardware import calibrate as cal
from bench.hardware.calibrate_child import measure
from bench.hardware.devices import cpu_device
from bench.hardware.mfu import calibrated_peak

INSTALLED = [f for f in cal.FRAMEWORKS if not cal._missing(f)]


@pytest.mark.skipif(not INSTALLED, reason="neither torch nor keras is installed")
def test_tiny_cpu_calibration_in_child_processes(tmp_path: Path) -> None:
    device = cpu_device()
    seen: list[str] = []
    already = {m for m in ("torch", "tensorflow") if m in sys.modules}  # other tests' imports
    rows = cal.calibrate(
        list(cal.FRAMEWORKS),
        [device],
        [128],
        tmp_path,
        cal.Settings(repeats=3, warmup=1, warmup_s=0.0, min_batch_s=0.01, threads=1),
        echo=seen.append,
    )
    assert {m for m in ("torch", "tensorflow") if m in sys.modules} == already  # parent clean
    assert len(rows) == len(cal.FRAMEWORKS) and len(seen) == len(cal.FRAMEWORKS)
    for row in rows:
        assert (row["device"], row["device_name"], row["dtype"], row["n"]) == (
            "cpu",
            device.label,
            "fp32",
            128,
        )
        assert row["device_uuid"] == ""  # a GPU's NVML UUID; the CPU has none
        if row["framework"] not in INSTALLED:
            assert row["status"] == "skipped" and "not installed" in row["error"]
            continue
        assert row["status"] == "ok", row
        assert row["best_flops_per_s"] >= row["median_flops_per_s"] > 0
        assert row["best_tflops"] == pytest.approx(row["best_flops_per_s"] / 1e12)
        assert row["inner"] >= 1 and row["threads"] == 1 and row["framework_version"]
    backends = {r["framework"]: r.get("backend") for r in rows if r["status"] == "ok"}
    assert backends.get("keras", "tensorflow") == "tensorflow"

    latest = json.loads((tmp_path / "latest.json").read_text())
    assert latest["kind"] == "calibration" and latest["rows"] == rows
    assert latest["host"]["hostname"] == socket.gethostname()
    assert len(list(tmp_path.glob("*.json"))) == 2  # the dated file and latest.json
    assert cal.load_latest(tmp_path) == latest
    assert cal.load_latest(tmp_path, host="some-other-host") is None
    peak = calibrated_peak(latest, INSTALLED[0], "cpu")
    assert peak is not None and peak > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"frameworks": ["tensorflow"]},
            'unknown framework "tensorflow"; choose from: torch, keras',
        ),
        ({"frameworks": []}, "no framework"),
        ({"sizes": [0]}, "sizes"),
        ({"dtypes": ["fp8"]}, 'unknown dtype "fp8"'),
    ],
)
def test_bad_input_is_a_usage_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"frameworks": ["torch"], "devices": [cpu_device()], "sizes": [8], "out": tmp_path}
    with pytest.raises(UsageError, match=message):
        cal.calibrate(**{**args, **kwargs})
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"repeats": 0}, "repeats must be >= 1"), ({"threads": 0}, "threads must be >= 1")],
)
def test_bad_settings_are_a_usage_error(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cal.Settings(**kwargs)


def test_main_rejects_unknown_framework_and_device(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli_cal.add_arguments(parser)
    with pytest.raises(UsageError, match='unknown framework "jax"'):
        cli_cal.main(parser.parse_args(["--frameworks", "jax", "--devices", "cpu"]))
    with pytest.raises(UsageError, match="--devices"):
        cli_cal.main(parser.parse_args(["--devices", "cuda:7", "--out", str(tmp_path)]))


def test_load_latest_picks_the_newest_for_the_host(tmp_path: Path) -> None:
    folder = tmp_path / "calibration"
    folder.mkdir()
    for name, host, created in [
        ("a.json", "h1", "2026-01-01T00:00:00+00:00"),
        ("b.json", "h1", "2026-03-01T00:00:00+00:00"),
        ("c.json", "h2", "2026-05-01T00:00:00+00:00"),
    ]:
        doc = {"kind": "calibration", "host": {"hostname": host}, "created_utc": created}
        (folder / name).write_text(json.dumps(doc))
    (folder / "broken.json").write_text("{not json")
    (folder / "other.json").write_text(json.dumps({"kind": "run"}))
    newest = cal.load_latest(tmp_path, "h1")
    assert newest is not None and newest["created_utc"].startswith("2026-03")
    assert cal.load_latest(tmp_path / "missing", "h1") is None


def test_measure_counts_two_n_cubed_flops_per_matmul() -> None:
    clock = itertools.count(0.0, 0.5)  # every reading is 0.5 s after the last
    calls: list[int] = []
    result = measure(lambda: calls.append(1), lambda: None, 10, 2, 4, 0.1, now=lambda: next(clock))
    # one matmul per batch takes 0.5 s of fake time (≥ min_batch_s), so inner stays 1
    assert result["inner"] == 1
    assert result["best_flops_per_s"] == result["median_flops_per_s"] == 2 * 10**3 / 0.5
    assert len(calls) == 2 + 1 + 4  # warm-up, one sizing batch, four timed batches


def test_measure_warms_up_for_at_least_warmup_s() -> None:
    t = [0.0]

    def matmul() -> None:
        t[0] += 0.01

    measure(matmul, lambda: None, 4, 1, 1, 0.0, warmup_s=0.5, now=lambda: t[0])
    assert t[0] >= 0.5


def test_measure_grows_the_batch_until_it_lasts_min_batch_s() -> None:
    t = [0.0]

    def matmul() -> None:
        t[0] += 0.001  # each matmul costs 1 ms of fake time

    result = measure(matmul, lambda: None, 4, 0, 3, 0.05, now=lambda: t[0])
    assert result["inner"] >= 50
    assert result["best_flops_per_s"] == pytest.approx(2 * 4**3 / 0.001)


@pytest.mark.skipif("keras" not in INSTALLED, reason="keras is not installed")
def test_a_child_past_its_timeout_is_killed_and_recorded(tmp_path: Path) -> None:
    settings = cal.Settings(repeats=1, warmup=0, warmup_s=0.0, timeout_s=1.0)
    rows = cal.calibrate(["keras"], [cpu_device()], [64], tmp_path, settings)  # TF imports > 1 s
    assert [(r["status"], r["error"]) for r in rows] == [("failed", "timed out after 1 s")]
    assert json.loads((tmp_path / "latest.json").read_text())["rows"] == rows


def test_calibration_is_found_by_a_run_with_another_out(tmp_path: Path) -> None:
    doc = {
        "kind": "calibration",
        "created_utc": "2026-12-01T00:00:00+00:00",
        "host": {"hostname": socket.gethostname()},
        "rows": [],
    }
    cal.write(doc, tmp_path / "here" / "host-20261201-000000.json")
    assert cal.load_latest(tmp_path / "elsewhere") == doc
    assert (cal.host_dir() / "latest.json").exists()
    assert str(cal.host_dir()).startswith(os.environ["XDG_DATA_HOME"])


def test_the_cpu_is_measured_at_each_thread_count_a_gpu_once(tmp_path: Path, monkeypatch) -> None:
    """`--threads` is a list, as in `run`: each count on the CPU, the largest on a GPU."""
    from bench.hardware.devices import Device

    seen: list[tuple[str, int]] = []

    def one(framework: str, device: Device, spec: dict, timeout_s: float) -> list:
        seen.append((device.name, spec["threads"]))
        return []

    monkeypatch.setattr(cal, "_calibrate_one", one)
    gpu = Device("cuda:0", "cuda", "GPU", 0, 2**33, "")
    cal.calibrate(["torch"], [cpu_device(), gpu], [8], tmp_path, cal.Settings(threads=(1, 2)))
    assert seen == [("cpu", 1), ("cpu", 2), ("cuda:0", 2)]
    assert json.loads((tmp_path / "latest.json").read_text())["settings"]["threads"] == [1, 2]

    given: list[cal.Settings] = []
    monkeypatch.setattr(cli_cal, "calibrate", lambda *a, **kw: given.append(a[4]) or [])
    parser = argparse.ArgumentParser()
    cli_cal.add_arguments(parser)
    cli_cal.main(
        parser.parse_args(["--devices", "cpu", "--threads", "2,1", "--out", str(tmp_path)])
    )
    assert given[0].thread_counts() == (2, 1)
    assert cal.Settings().thread_counts() == cal.Settings(threads=None).thread_counts()
