"""Warm compiler caches that really are warm: keyed by what changes the compiled code, filled
by an untimed run of the same configuration before the first warm trial uses them.

A `warm` trial gets persistent cache folders (inductor, Triton, CUDA, XLA, JAX; see
`bench.launchers.local.child_env`) under `<output dir>/.cache/<key>/`. The key holds everything
that changes what a compiler produces — framework, backend, mode, the network (a spec model's
whole layer spec, so editing a spec file or a layer list starts a new cache; a native model's
factory and the bytes of its source file), input shape, classes, batch size, precision,
autotune, device kind and name, and the framework's installed version (read from package
metadata: nothing is imported) — so two configurations never share a cache and an upgrade
starts a new one. Before the first warm trial of a key, `fill`
runs that trial untimed (2 one-step epochs: tracing and compilation happen in the first step)
and leaves a `.filled` marker; the fill is recorded in run.json (`cache_fills`), never in the
tables. A later run with the same key finds the filled cache, as a warm cache should. JAX
caches every computation the fill compiles, however quick (`bench.launchers.local.cache_env`:
its defaults keep only compiles of 1 s or more).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.contract.recipe import Recipe
from bench.contract.trial import Trial
from bench.launchers.launch import launcher_for
from models import zoo

PACKAGES = {"torch": ("torch",), "keras": ("keras", "tensorflow", "jax", "torch")}


def _versions(trial: Trial) -> dict[str, str]:
    names = PACKAGES.get(trial.framework, ())
    if trial.framework == "keras":
        names = ("keras", trial.backend)
    found = {}
    for name in names:
        for package in (name, f"{name}-cpu"):
            try:
                found[name] = metadata.version(package)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def cache_key(trial: Trial) -> str:
    """A readable prefix and a hash of everything that changes the compiled code."""
    identity = {
        "framework": trial.framework,
        "backend": trial.backend,
        "mode": trial.mode,
        "model": trial.model,
        "options": trial.model_options,
        "input_shape": list(trial.input_shape),
        "classes": trial.classes,
        "batch_size": trial.batch_size,
        "precision": trial.precision,
        "autotune": trial.autotune,
        "device_kind": trial.device_kind,
        "device_name": trial.device_name,
        "versions": _versions(trial),
    }
    identity["network"] = network(trial)
    if trial.parallel == "data":  # DDP changes what torch.compile builds; single keys unchanged
        identity["parallel"] = f"data{trial.world_size}"
    plain = Recipe(learning_rate=trial.learning_rate)  # Adam, no extras: the keys of before
    if trial.recipe != plain:  # Keras compiles the optimizer's update into its train step
        identity["optimizer"] = trial.recipe.describe()
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return f"{trial.framework}.{trial.backend}.{trial.mode}.{trial.model}-{digest}"


def network(trial: Trial) -> str:
    """What the trial's network is: a spec model's layer spec (as built for this trial), a
    native model's factory and a digest of its source file ("" where it cannot be found)."""
    if not trial.native:
        spec = zoo.get(trial.model, tuple(trial.input_shape), trial.classes, **trial.model_options)
        return repr(spec)
    where = trial.native.rpartition(":")[0]
    path = Path(where) if where.endswith(".py") else _module_file(where)
    source = path.read_bytes() if path is not None and path.is_file() else b""
    return f"{trial.native} {hashlib.sha256(source).hexdigest()[:16]}"


def _module_file(name: str) -> Path | None:
    """The source file of module `name` on the import path, found without importing anything
    (importing it here could import a framework into the harness's process)."""
    parts = name.split(".")
    for root in (Path.cwd(), *(Path(p) for p in sys.path if p)):
        for candidate in (
            root.joinpath(*parts).with_suffix(".py"),
            root.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
    return None


def warm_dir(output_dir: Path, trial: Trial) -> Path | None:
    """The persistent cache folder of a `warm` trial (None for a cold one)."""
    if trial.cache != "warm":
        return None
    path = Path(output_dir) / ".cache" / cache_key(trial)
    path.mkdir(parents=True, exist_ok=True)
    return path


# The mode a warm-up trial runs in: the framework's plain one (a compiler would fill no cache).
UNCOMPILED = {"torch": "eager", "tensorflow": "graph", "jax": "eager"}


def _untimed(trial: Trial, trial_id: str, **changes: Any) -> Trial:
    """`trial` cut to 2 one-step epochs, unsampled and unvalidated: a run that only prepares."""
    return dataclasses.replace(
        trial,
        trial_id=trial_id,
        epochs=2,
        steps_per_epoch=1,
        monitor_interval_s=None,
        evaluate=False,
        **changes,
    )


def run_warm_up(
    trial: Trial, index: int, work: Path, on_spawn: Callable[[int], None] = lambda pid: None
) -> dict[str, Any]:
    """Run `[sweep] warmup`'s untimed trial number `index` for `trial`'s framework, backend and
    device — the trial cut short, in an uncompiled mode, in one process — so that the OS file
    cache holds the framework and the data before anything is timed; its record for run.json."""
    name = f"warmup{index}-{trial.framework}-{trial.backend}-{trial.device}".replace(":", "")
    warm = _untimed(
        trial,
        name,
        mode=UNCOMPILED.get(trial.backend, trial.mode),
        parallel="single",  # one process: it fills the OS file cache all the same
        world_size=1,
        rank_gpus=(),
        cache="cold",
    )
    began = time.monotonic()
    outcome = launcher_for(warm)(warm, work / name, work / f"{name}.log", on_spawn=on_spawn)
    return {"framework": trial.framework, "backend": trial.backend, "device": trial.device,
            "status": outcome.status, "seconds": round(time.monotonic() - began, 3)}  # fmt: skip


def fill(
    trial: Trial, cache: Path, work: Path, on_spawn: Callable[[int], None] = lambda pid: None
) -> dict[str, Any] | None:
    """Fill `cache` with an untimed run of `trial` unless it is filled; what was done, or None.
    `on_spawn` gets the filling child's process id (a cluster job stops it when preempted)."""
    marker = cache / ".filled"
    if marker.exists():
        return None
    filler = _untimed(trial, f"fill-{trial.trial_id}")
    work, log = work / filler.trial_id, work / f"{filler.trial_id}.log"
    outcome = launcher_for(filler)(filler, work, log, cache_dir=cache, on_spawn=on_spawn)
    if outcome.status == "ok":
        marker.write_text(filler.trial_id + "\n", encoding="utf-8")
    if outcome.status == "interrupted":
        raise KeyboardInterrupt
    return {"trial_id": trial.trial_id, "cache": cache.name, "status": outcome.status}
