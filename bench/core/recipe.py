"""What defines a run's trials beyond its recorded config: each network and each data set's shape.

`bench run` records `recipe(trials)` in run.json: a digest of every network the plan builds (a
spec model's layer spec as built for its trials — so an edited spec file or TOML layer list
shows —, a native model's factory and a digest of its source file) and of each data set's image
shape and class count. `--resume` plans the recorded config again and refuses (exit 2) when a
digest differs, naming what changed: rows of two different networks must never be pooled as one
configuration.
"""

from __future__ import annotations

import hashlib

from bench.contract.trial import Trial
from bench.errors import UsageError
from bench.launchers.caches import network


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recipe(trials: list[Trial]) -> dict[str, str]:
    """Digest by part: `model NAME[options]` (per framework for a native model) and `data SPEC`."""
    parts: dict[str, str] = {}
    for t in trials:
        if t.skip:  # never built (a native model without this framework's factory, ...)
            continue
        options = ",".join(f"{k}={v}" for k, v in t.model_options.items())
        name = f"model {t.model}" + (f"[{options}]" if options else "")
        name += f" ({t.framework})" if t.native else ""
        if name not in parts:
            parts[name] = _digest(network(t))
        parts.setdefault(f"data {t.dataset}", _digest(f"{t.input_shape} {t.classes}"))
    return parts


def check_unchanged(recorded: dict[str, str] | None, trials: list[Trial], where: str) -> None:
    """Raise a `UsageError` naming every part of the recipe that differs from `recorded` (a
    folder of a bench before recipes were recorded is not checked)."""
    if not recorded:
        return
    now = recipe(trials)
    changed = sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))
    if changed:
        raise UsageError(
            f"{where}: the run's trials are no longer what it started with — changed since: "
            f"{'; '.join(changed)} (an edited spec file, layer list, factory or data set). "
            "Resuming would pool two different networks or data sets as one configuration; "
            "start a new run instead, or put the old definition back to finish this one."
        )
