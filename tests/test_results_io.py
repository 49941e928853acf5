"""Result files are written atomically: a failing write (disk full) keeps the previous file, and a
trial's rows count only once committed."""

from __future__ import annotations

import errno
import os

import pytest

from bench.core import results
from bench.errors import UsageError


def test_disk_full_keeps_the_previous_complete_file(tmp_path, monkeypatch):
    target = tmp_path / "trials.csv"
    results.write_atomic(target, "a,b\n1,2\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.os, "fsync", full)
    with pytest.raises(UsageError) as info:
        results.write_atomic(target, "a,b\n1,2\n3,4\n")
    message = str(info.value)
    assert str(target) in message and "No space left" in message and "--resume" in message
    assert target.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv"], "no temp file left"


def _rows(trial_id: str, epochs: int = 2) -> dict[str, list]:
    from bench.contract.schema import EpochRow, PhaseRow, TrialRow

    trial = TrialRow(
        run_id="r", trial_id=trial_id, order=0, framework="fake", backend="fake",
        mode="scripted", cache="cold", model="m", model_options="", dataset="synthetic",
        input_shape="8x8x1", classes=2, device="cpu", device_name="cpu", threads=1,
        precision="fp32", batch_size=8, repeat=0, epochs=epochs, steps_per_epoch=1,
        samples_per_epoch=8, status="ok",
    )  # fmt: skip
    return {
        "trials.csv": [trial],
        "phases.csv": [PhaseRow("r", trial_id, "spawn", 0.0, 0.1)],
        "epochs.csv": [EpochRow("r", trial_id, e, 1.0, 1, 8) for e in range(1, epochs + 1)],
    }


def test_a_commit_that_fails_leaves_every_table_as_it_was(tmp_path, monkeypatch):
    writer = results.RunWriter(tmp_path)
    writer.create()
    writer.commit(_rows("a"))
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")}
    calls = []

    def full_on_the_third(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.os, "fsync", full_on_the_third)
    with pytest.raises(UsageError) as info:
        writer.commit(_rows("b"))
    assert "No space left" in str(info.value) and f"--resume {tmp_path}" in str(info.value)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")} == before
    assert [r.trial_id for r in writer.rows["trials.csv"]] == ["a"]


def test_only_committed_trials_are_read_back(tmp_path):
    """A trial that died before its trials.csv row (its commit) left rows nobody trusts, and a
    line cut off at the end of a table is not a row; `rewrite` leaves exactly what is trusted."""
    writer = results.RunWriter(tmp_path)
    writer.create()
    writer.commit(_rows("a"))
    uncommitted = _rows("b")
    with open(tmp_path / "epochs.csv", "a") as f:  # the kill came before b's trials.csv row
        f.write(results._lines(uncommitted["epochs.csv"]))
    with open(tmp_path / "trials.csv", "a") as f:
        f.write(results._lines(uncommitted["trials.csv"])[:-9])  # cut off mid-line
    again = results.RunWriter(tmp_path)
    assert again.load() == {"trials.csv": 1, "epochs.csv": 2}
    assert {r.trial_id for rows in again.rows.values() for r in rows} == {"a"}
    again.rewrite()
    fresh = results.RunWriter(tmp_path)
    assert fresh.load() == {} and len(fresh.rows["epochs.csv"]) == 2
