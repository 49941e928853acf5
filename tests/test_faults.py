"""Run folders that cannot lie: a kill at any moment, SIGTERM, a full disk or a second writer,
then `--resume` — every planned trial exactly once, the tables equal by key to a run that was
never interrupted, and no process left behind. All on the fake framework: fast, deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO, only_run_dir, read_csv, run_cli

CONFIG = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cpu"]
repeats = 3
[train]
epochs = 4
samples = 640
[fake]
phase_s = 0.05
first_step_s = 0.1
epoch_s = [0.6]
sleep = {sleep}
"""
KEYS = {"trials.csv": ("trial_id",), "epochs.csv": ("trial_id", "epoch")}
KEYS |= {"phases.csv": ("trial_id", "phase"), "settings.csv": ("trial_id", "key")}
# What a trial measured (virtual time: the same in every run); noise and host columns differ.
VALUES = {"trials.csv": ("status", "steady_epoch_s", "first_epoch_s", "setup_s")}
VALUES |= {"epochs.csv": ("wall_s", "steps", "samples"), "phases.csv": ("duration_s",)}


def config(tmp_path: Path, sleep: bool) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(CONFIG.format(sleep=str(sleep).lower()))
    return path


def tables(run_dir: Path) -> dict[str, dict[tuple, tuple]]:
    """Each table as {key: measured values}; asserts no key appears twice."""
    out = {}
    for table, key in KEYS.items():
        rows = read_csv(run_dir / table)
        keyed = {tuple(r[k] for k in key): tuple(r[v] for v in VALUES.get(table, ())) for r in rows}
        assert len(keyed) == len(rows), f"{table}: a key twice"
        out[table] = keyed
    return out


def start(cfg: Path, out: Path, *extra: str, wrapper: str = "") -> subprocess.Popen:
    """`bench run` in the background (`wrapper`: Python run first, in the same process)."""
    code = wrapper + "\nfrom bench.__main__ import main\nsys.exit(main(sys.argv[1:]))"
    argv = ["run", "--config", str(cfg), "--out", str(out), "--no-report", "-q", *extra]
    return subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + code, *argv],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def running_child(out: Path, timeout: float = 60.0) -> psutil.Process:
    """The trial child once it has reported an epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for events in out.glob("*/tmp/*/events.jsonl"):
            if '"epoch"' in events.read_text():
                for p in psutil.process_iter(["cmdline"]):
                    if str(events) in " ".join(p.info["cmdline"] or []):
                        return p
        time.sleep(0.05)
    raise AssertionError("no trial child reported an epoch")


def gone(process: psutil.Process, timeout: float = 10.0) -> bool:
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        return False
    return True


def resume(run_dir: Path) -> subprocess.CompletedProcess:
    done = run_cli("run", "--resume", str(run_dir), "--no-report", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("whole")
    done = run_cli(
        "run", "--config", str(config(tmp, False)), "--out", str(tmp / "out"), "--no-report"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tables(only_run_dir(tmp / "out"))


# Kill the process in the middle of the second trial's commit, after `table` was appended.
KILL_IN_COMMIT = textwrap.dedent("""
    import os, signal
    from bench.core import results
    from bench.contract.commits import append_order
    from bench.contract.schema import TABLES
    commit, seen = results.RunWriter.commit, []
    def dying(self, rows):
        seen.append(1)
        if len(seen) < 2:
            return commit(self, rows)
        for table in append_order(TABLES):
            with open(self.run_dir / table, "a") as f:
                f.write(results._lines(rows.get(table, [])))
            if table == {table!r}:
                os.kill(os.getpid(), signal.SIGKILL)
    results.RunWriter.commit = dying
""")


@pytest.mark.parametrize("table", ["phases.csv", "epochs.csv", "samples.csv"])
def test_sigkill_between_two_tables_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, uninterrupted: dict, table: str
) -> None:
    out = tmp_path / "out"
    proc = start(config(tmp_path, False), out, wrapper=KILL_IN_COMMIT.format(table=table))
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    run_dir = only_run_dir(out)
    assert len(read_csv(run_dir / "trials.csv")) == 1  # the second trial never committed
    resume(run_dir)
    assert tables(run_dir) == uninterrupted
    repairs = json.loads((run_dir / "run.json").read_text())["repairs"]
    assert repairs[0]["rows_dropped"]  # what the resume dropped is on the record


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_a_killed_or_stopped_run_leaves_nothing_running_and_resumes_whole(
    tmp_path: Path, sig: int
) -> None:
    out = tmp_path / "out"
    proc = start(config(tmp_path, True), out)
    child = running_child(out)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert gone(child), "the trial's child outlived its parent"
    run_dir = only_run_dir(out)
    rows = read_csv(run_dir / "trials.csv")
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL and rows == []
    else:  # recorded as Ctrl-C would be, resumable; exit 128 + the signal's number
        assert proc.returncode == 128 + sig and "Traceback" not in stderr, stderr
        name = signal.Signals(sig).name
        assert [(r["status"], r["error"]) for r in rows] == [("interrupted", f"stopped by {name}")]
    resume(run_dir)
    final = tables(run_dir)
    assert [v[0] for v in final["trials.csv"].values()] == ["ok"] * 3
    assert {k[0] for k in final["epochs.csv"]} == {k[0] for k in final["trials.csv"]}
    assert len(final["epochs.csv"]) == 3 * 4


def test_a_second_writer_exits_2_naming_the_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(config(tmp_path, True), out)
    running_child(out)
    run_dir = only_run_dir(out)
    second = run_cli("run", "--resume", str(run_dir), "--no-report")
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"process {proc.pid} on" in second.stderr and "Traceback" not in second.stderr
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    resume(run_dir)  # the lock went with its process
    assert len(read_csv(run_dir / "trials.csv")) == 3


# The disk fills up in the middle of the second trial's commit: from then on every write of the
# parent fails with ENOSPC when it is flushed to disk (its children write elsewhere, unharmed).
FULL_DISK = textwrap.dedent("""
    import errno, os
    from bench.core import results
    fsync, calls = os.fsync, []
    def full(fd):
        calls.append(fd)
        if getattr(results, "FULL", False):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fsync(fd)
    commit, seen = results.RunWriter.commit, []
    def filling(self, rows):
        seen.append(1)
        results.FULL = len(seen) == 2
        return commit(self, rows)
    os.fsync, results.RunWriter.commit = full, filling
""")


def test_a_full_disk_is_a_clear_error_and_resume_finishes_the_run(
    tmp_path: Path, uninterrupted: dict
) -> None:
    out = tmp_path / "out"
    proc = start(config(tmp_path, False), out, wrapper=FULL_DISK)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "No space left on device" in stderr and "--resume" in stderr, stderr
    assert "Traceback" not in stderr
    run_dir = only_run_dir(out)
    assert len(read_csv(run_dir / "trials.csv")) == 1  # the first trial, whole; nothing else
    assert len(read_csv(run_dir / "epochs.csv")) == 4
    resume(run_dir)  # space freed
    assert tables(run_dir) == uninterrupted


def test_figure_workers_die_with_a_killed_report(tmp_path: Path) -> None:
    done = run_cli("run", "--config", str(config(tmp_path, False)), "--out", str(tmp_path / "o"),
                   "--no-report", "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = subprocess.Popen(
        [sys.executable, "-m", "bench", "report", str(only_run_dir(tmp_path / "o"))],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent, workers = psutil.Process(report.pid), []
    deadline = time.monotonic() + 60
    while not workers and report.poll() is None and time.monotonic() < deadline:
        workers = parent.children(recursive=True)
        time.sleep(0.02)
    if not workers:
        pytest.skip("the report drew its figures in one process here (no CPU to spare)")
    report.kill()
    report.wait(10)
    assert all(gone(w) for w in workers), "a figure worker outlived its report"


SPEC_FILE = """
from models.spec import Dense, Flatten, ModelSpec
from models.zoo import register


@register("mine", input_shape=(8, 8, 1), classes=2, description="a tiny MLP", source="test")
def mine(input_shape, classes):
    return ModelSpec("mine", input_shape, classes, (Flatten(), Dense({width}), Dense(classes)))
"""


@pytest.mark.parametrize("launcher", ["local", "submitit-local"])
def test_resume_refuses_a_changed_network(tmp_path: Path, launcher: str) -> None:
    """An edited spec file after the run started: `--resume` would pool two networks as one
    configuration, so it exits 2 naming the model, and the folder is left as it was."""
    if launcher != "local":
        pytest.importorskip("submitit")
    (tmp_path / "my.py").write_text(SPEC_FILE.format(width=4))
    cfg = config(tmp_path, False)
    text = cfg.read_text().replace('"seed_ffnn"', '"mine"').replace("repeats = 3", "repeats = 1")
    cfg.write_text(text + f'[models]\nfiles = ["my.py"]\n[launcher]\nkind = "{launcher}"\n')
    done = run_cli("run", "--config", str(cfg), "--out", "out", "--no-report", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if (p / "run.json").exists()]
    before = {p.name: p.read_bytes() for p in run_dir.glob("*.csv")}
    (tmp_path / "my.py").write_text(SPEC_FILE.format(width=64))
    again = run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "changed since: model mine" in again.stderr and "Traceback" not in again.stderr
    assert {p.name: p.read_bytes() for p in run_dir.glob("*.csv")} == before
    (tmp_path / "my.py").write_text(SPEC_FILE.format(width=4))  # the old definition back
    assert run_cli("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path).returncode == 0
