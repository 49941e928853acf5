"""Three small defects of issue 34, fixed: `run --dry-run` imports native factories in a child
and stops (exit 2) on one that does not import, naming the model, the framework and the fix;
`models --verify`'s footnote for a native model says what it cannot show for the factories it
has (a torch-only model has no second framework, not "two factories"); and counts of threads
read as English in the dry run and `selfcheck` ("1 thread", never "1 threads").
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import run_cli

from models import native, native_check

TORCH = importlib.util.find_spec("torch") is not None


def _dry_run(tmp_path, factory: str):
    (tmp_path / "factories.py").write_text("def make(shape, classes): ...\n", encoding="utf-8")
    toml = tmp_path / "bench.toml"
    toml.write_text(
        "[sweep]\nframeworks = ['torch']\nmodels = ['mine']\ndevices = ['cpu']\nrepeats = 1\n"
        f'threads = [1]\n[models.mine]\ntorch = "{tmp_path / "factories.py"}:{factory}"\n',
        encoding="utf-8",
    )
    return run_cli("run", "--config", str(toml), "--dry-run", "--out", str(tmp_path / "out"))


@pytest.mark.skipif(not TORCH, reason="a torch trial is checked only where torch is installed")
def test_the_dry_run_stops_on_a_misspelt_factory(tmp_path) -> None:
    bad = _dry_run(tmp_path, "mkae")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "1 trials planned" in bad.stdout  # the plan is printed first
    message = bad.stderr
    assert "native model mine: its torch factory" in message and "has no 'mkae'" in message
    assert "[models.mine] torch" in message and "models --verify mine" in message
    good = _dry_run(tmp_path, "make")
    assert good.returncode == 0, good.stdout + good.stderr


def test_the_probe_reports_each_factory(tmp_path) -> None:
    from models.native_probe import probe

    (tmp_path / "nets.py").write_text("def make(s, c): ...\nvalue = 3\n", encoding="utf-8")
    (tmp_path / "exits.py").write_text("raise SystemExit('no')\n", encoding="utf-8")
    found = probe(
        [f"{tmp_path}/nets.py:make", f"{tmp_path}/nets.py:value", f"{tmp_path}/exits.py:f"]
    )
    assert list(found.values())[0] == ""
    assert "not callable" in list(found.values())[1]
    assert "SystemExit" in list(found.values())[2]


def test_the_verify_note_names_what_a_native_model_cannot_show() -> None:
    both = native_check.note(native.NativeRef(torch="a:f", keras="b:g"))
    assert "two factories share no weight layout" in both
    torch_only = native_check.note(native.NativeRef(torch="a:f"))
    assert "torch factory only" in torch_only and "two factories" not in torch_only
    assert "keras factory only" in native_check.note(native.NativeRef(keras="b:g"))


def test_one_thread_is_one_thread(tmp_path, monkeypatch, capsys) -> None:
    done = run_cli(
        "run", "--frameworks", "fake", "--models", "seed_ffnn", "--threads", "1", "--repeats",
        "1", "--dry-run", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0 and "t1" in done.stdout and "1 threads" not in done.stdout
    import bench.cli.selfcheck as selfcheck
    from bench.__main__ import main

    times = {k: [1.0] * 3 for k in ("bare", "harness", "no sampler", "no steps")}
    monkeypatch.setattr(selfcheck, "_rounds", lambda trial, rounds: times)
    assert (
        main(["selfcheck", "--frameworks", "numpy", "--models", "seed_ffnn", "--threads", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert "1 thread," in out and "1 threads" not in out
    assert "steps on/off 1.000" in out and "marking a step costs" in out  # step recording's cost
