"""The dry run's check of native models' factories: do their import strings import?

The parent checks an import string's form only (`models.native.parse_ref`); a misspelt module or
factory name used to pass `run --dry-run` and fail inside every trial. `factory_problems` imports
the factories of the planned native trials in a child (`models.native_probe`), one child per
framework and backend, with the environment the first such trial's child gets
(`bench.launchers.local.child_env`), and says what would fail; the dry run stops with those
lines (exit 2). Trials that are skipped, or whose framework is not installed, are not checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.contract.trial import Trial

PROBE_TIMEOUT_S = 300.0


def _groups(trials: list[Trial]) -> dict[tuple[str, str], tuple[Trial, dict[str, str]]]:
    """(framework, backend) → the first native trial of it and its factories (ref → model)."""
    from bench.core.sweep import missing_framework

    groups: dict[tuple[str, str], tuple[Trial, dict[str, str]]] = {}
    for t in trials:
        if t.definition != "native" or t.skip or missing_framework(t.framework, t.backend):
            continue
        first, refs = groups.setdefault((t.framework, t.backend), (t, {}))
        refs.setdefault(t.native, t.model)
    return groups


def _probe(trial: Trial, refs: list[str]) -> dict[str, str]:
    """Run the probe child with `trial`'s environment; every ref's error ("" when it imports)."""
    from bench.launchers.local import child_env

    with tempfile.TemporaryDirectory(prefix="bench-factories-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "models.native_probe", *refs],
                env=child_env(trial, Path(tmp)),
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return dict.fromkeys(refs, f"importing took over {PROBE_TIMEOUT_S:.0f} s")
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return dict.fromkeys(refs, f"the import ended its process (exit code {proc.returncode})"
                             + (f": {tail}" if tail else ""))  # fmt: skip


def factory_problems(trials: list[Trial]) -> list[str]:
    """One line per native factory of the planned trials that does not import ([] when all do)."""
    problems = []
    for (framework, _), (first, refs) in _groups(trials).items():
        for ref, error in _probe(first, list(refs)).items():
            if error:
                model = refs[ref]
                problems.append(
                    f"native model {model}: its {framework} factory {ref} does not import "
                    f"({error}), so each of its {framework} trials would fail; fix "
                    f"[models.{model}] {framework} (and check the model with: python -m bench "
                    f"models --verify {model})"
                )
    return problems
