"""Result files are written atomically: a failing write (disk full) keeps the previous file."""

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
