"""Config + devices → the ordered list of trials to run (pure and deterministic).

Order: repeats outermost, so that every configuration is measured once before any is measured
again (slow drift of the machine — thermals, other load — spreads over all of them), and the
framework variants (framework × backend × mode × cache) innermost, so that the variants of one
configuration run back to back. Combinations that cannot run are planned with a `skip` reason
and recorded as `skipped`, so the plan shows them instead of silently dropping them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench.contract.names import check_trial_id
from bench.contract.recipe import Recipe, recipe_skip
from bench.contract.trial import Trial
from bench.core import parallel as parallel_mod
from bench.core.labels import labelled, parts
from bench.errors import UsageError
from bench.hardware.precision import autotune_skip, precision_skip

if TYPE_CHECKING:
    from bench.core.config import Config
    from bench.data.header import Header
    from bench.hardware.devices import Device

LOADER_NEEDS_TF = (
    "the Keras loader pipeline is tf.data, which needs the TensorFlow backend; use the memory "
    "pipeline on this backend"
)
#: The settings a trial id names before its device; the others it labels follow the device.
BEFORE_DEVICE = ("input_size", "pipeline")
NO_GRAPH_MODE = {
    "jax": "Keras on JAX has no separate graph mode: jit_compile=False runs eagerly; use xla",
    "torch": "Keras on torch has no graph mode (it runs eagerly); use eager, or xla for "
    "torch.compile",
}


def variants(config: Config) -> list[tuple[str, str, str, str]]:
    """(framework, backend, mode, skip reason) for every framework the sweep names."""
    sweep, out = config.sweep, []
    for framework in sweep.frameworks:
        if framework == "torch":
            out += [("torch", "torch", mode, "") for mode in sweep.torch_modes]
        elif framework == "keras":
            for backend, mode in itertools.product(sweep.keras_backends, sweep.keras_modes):
                skip = NO_GRAPH_MODE.get(backend, "") if mode == "graph" else ""
                out.append(("keras", backend, mode, skip))
        elif framework == "numpy":
            out.append(("numpy", "numpy", "eager", ""))
        else:
            out.append(("fake", "fake", "scripted", ""))
    return out


def option_sets(config: Config, model: str) -> list[dict[str, Any]]:
    """Every combination of the [options.<model>] values ({} when none are swept)."""
    table = config.options.get(model, {})
    keys = sorted(table)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(table[k] for k in keys))
    ]


def _trial_id(order: int, parts: list[str]) -> str:
    text = "-".join(p for p in parts if p)
    return f"{order:03d}-" + text.replace(":", "").replace("=", "-").replace(",", "-")


def plan(
    config: Config,
    devices: list[Device],
    default_threads: int,
    rank_only: frozenset[str] = frozenset(),
) -> list[Trial]:
    """Expand the sweep over `devices` (already resolved) into ordered trials. Devices named in
    `rank_only` serve data-parallel ranks only: no single-device trial is planned on them."""
    shared = _shared(config)
    trials: list[Trial] = []
    for varying, size in _points(config, devices, default_threads):
        if varying["parallel"] == "single" and varying["device"] in rank_only:
            continue
        order = len(trials)
        trial_id = _trial_id(order, _identity(varying, size))
        try:
            check_trial_id(trial_id)
        except ValueError as exc:
            raise UsageError(
                f"{config.source}: {exc}: shorten the model's name or its options' values."
            ) from None
        trials.append(Trial(trial_id=trial_id, order=order, **varying, **shared))
    return trials


def _shared(config: Config) -> dict[str, Any]:
    """The Trial fields that every trial of the sweep has in common."""
    train, data = config.train, config.data
    return {
        "dataset": data.dataset,
        "epochs": train.epochs,
        **dataclasses.asdict(train_recipe(config)),
        "seed": data.seed,
        "timeout_s": train.timeout_s,
        "monitor_interval_s": config.monitor.interval_s if config.monitor.enabled else None,
        "record_steps": config.monitor.steps,
        "fake": dataclasses.asdict(config.fake),
        "workers": data.workers,
        "val_fraction": data.val_fraction,
        "user_models": config.models,
    }


def _points(
    config: Config, devices: list[Device], default_threads: int
) -> Iterator[tuple[dict[str, Any], int | None]]:
    """Every combination the sweep names, in plan order: the Trial fields that vary, and the
    swept input size (None: the model's own). Thread count matters to CPU trials; a GPU trial
    runs once, with the most."""
    from bench.hardware.devices import cpu_cores
    from models import zoo

    sweep = config.sweep
    data = data_header(config)
    thread_counts = sweep.threads or (default_threads,)
    cores = cpu_cores()[1] if config.launcher.kind != "slurm" else None
    for repeat, model in itertools.product(range(sweep.repeats), sweep.models):
        info = zoo.info(model)
        for options, size, device, batch_size in itertools.product(
            option_sets(config, model), sweep.input_sizes or (None,), devices, sweep.batch_sizes
        ):
            shape, classes = model_input(info, data, size)
            if info.native is None:
                check_fits(config, model, options, shape, classes)
            counts = thread_counts if device.kind == "cpu" else (max(thread_counts),)
            for threads, pipeline, precision, autotune, variant, cache, dp in itertools.product(
                counts,
                config.data.pipeline,
                sweep.precisions,
                sweep.autotune,
                variants(config),
                sweep.caches,
                parallel_mod.points(config, device, devices),
            ):
                framework, backend, mode, skip = variant
                varying = {
                    "framework": framework,
                    "backend": backend,
                    "mode": mode,
                    "cache": cache,
                    "model": model,
                    "model_options": options,
                    "input_shape": shape,
                    "classes": classes,
                    **_device_fields(device),
                    "threads": threads,
                    "batch_size": batch_size,
                    "repeat": repeat,
                    "steps_per_epoch": config.train.samples // batch_size,
                    "pipeline": pipeline,
                    "augment": config.data.augment and pipeline == "loader",
                    "precision": precision,
                    "autotune": autotune,
                    "definition": "spec" if info.native is None else "native",
                    "native": "" if info.native is None else info.native.for_framework(framework),
                    "parallel": dp[0],
                    "world_size": dp[1],
                    "rank_gpus": dp[2],
                    "evaluate": config.data.evaluate and dp[0] == "single",
                }
                why = _skip(config, varying, (model, options, shape, classes), info, device, cores)
                varying["skip"] = skip or dp[3] or why
                yield varying, size


def train_recipe(config: Config) -> Recipe:
    """The optimizer recipe of `[train]`."""
    names = [f.name for f in dataclasses.fields(Recipe)]
    return Recipe(**{name: getattr(config.train, name) for name in names})


def _device_fields(device: Device) -> dict[str, Any]:
    """The Trial fields that say where it runs."""
    return {
        "device": device.name,
        "device_kind": device.kind,
        "device_index": device.index,
        "device_name": device.label,
        "device_uuid": device.uuid or "",
    }


def _skip(
    config: Config,
    varying: dict[str, Any],
    point: tuple[str, dict, tuple, int],
    info: Any,
    device: Device,
    cores: int | None,
) -> str:
    """Why a planned trial cannot run ("" when it can): data-parallel (the variant; ranks past
    this machine's `cores`), the framework and pipeline, a native model, the NumPy runner's
    layers, precision and autotune on the device, the optimizer recipe."""
    framework, pipeline, native = varying["framework"], varying["pipeline"], info.native
    if skip := parallel_mod.variant_skip(varying, varying["parallel"]):
        return skip
    if skip := parallel_mod.cpu_world_skip(varying, cores):
        return skip
    if framework == "keras" and varying["backend"] != "tensorflow" and pipeline == "loader":
        return LOADER_NEEDS_TF
    if native is not None:
        skip = native_skip(point[0], native, framework)
    elif framework == "numpy":
        skip = numpy_skip(*point, device.kind, pipeline)
    kind, capability = device.kind, device.compute_capability
    total_steps = config.train.epochs * varying["steps_per_epoch"]
    return (
        skip
        or precision_skip(varying["precision"], framework, kind, capability)
        or autotune_skip(varying["autotune"], kind)
        or recipe_skip(framework, varying["backend"], train_recipe(config), total_steps)
    )


def data_header(config: Config) -> Header:
    """The data set's stored shape and classes, from its headers (no pixels)."""
    from bench.data.header import header
    from bench.data.source import DatasetError

    try:
        return header(config.data.dataset)
    except DatasetError as exc:
        raise UsageError(f"{config.source}: [data] dataset: {exc}.") from None


def model_input(native: Any, data: Header, size: int | None) -> tuple[tuple[int, int, int], int]:
    """The (H, W, C) and class count a model trains at: the data's own shape (a fixed-design
    model keeps its own size and channels; real data is resized to it), `input_sizes` when
    swept, and the data's classes where the data has them."""
    height, width, channels = native.input_shape
    if data.shape is not None and not native.fixed_input:
        height, width, channels = data.shape
    if size is not None:
        height = width = size
    return (height, width, channels), data.classes or native.classes


@functools.cache
def _fits(model: str, options: tuple, shape: tuple[int, ...], classes: int) -> str:
    from models import flops, zoo

    try:
        flops.layer_table(zoo.get(model, shape, classes, **dict(options)))
    except ValueError as exc:
        return str(exc)
    return ""


def numpy_skip(
    model: str,
    options: dict[str, Any],
    shape: tuple[int, ...],
    classes: int,
    device_kind: str,
    pipeline: str,
) -> str:
    """Why the numpy runner cannot run this model here ("" when it can): a GPU device, the
    loader pipeline, or a layer it does not implement (`bench.runners.numpy.plan_skip`)."""
    from bench.runners.numpy import plan_skip
    from models import zoo

    return plan_skip(zoo.get(model, shape, classes, **options), device_kind, pipeline)


def native_skip(model: str, native: Any, framework: str) -> str:
    """Why a native model does not run in `framework` ("" when it does): it has no factory
    for it, or the framework is numpy (a native model is a torch or Keras factory)."""
    if framework == "numpy":
        return (
            f"{model} is a native model (a torch/Keras factory); the NumPy runner builds spec "
            "models only"
        )
    if framework in ("torch", "keras") and not native.for_framework(framework):
        key = f'[models.{model}] {framework} = "module:factory"'
        return f"native model {model} has no {framework} factory ({key})"
    return ""


def check_fits(
    config: Config, model: str, options: dict[str, Any], shape: tuple[int, ...], classes: int
) -> None:
    """Refuse, at plan time, a model that cannot take the data at this shape."""
    if why := _fits(model, tuple(sorted(options.items())), shape, classes):
        raise UsageError(
            f"{config.source}: model {model} cannot train on dataset {config.data.dataset} at "
            f"{'×'.join(map(str, shape))} (H×W×C) with {classes} classes: {why}. Choose "
            "another model, or [sweep] input_sizes large enough for it."
        )


def _identity(t: dict[str, Any], size: int | None) -> list[str]:
    """The readable parts of a trial's id: what distinguishes it from the sweep's other trials
    (every labelled setting, as `bench.core.labels` writes it, in declaration order)."""
    framework, backend = t["framework"], t["backend"]
    label = ",".join(f"{k}={v}" for k, v in t["model_options"].items())
    row = {**t, "input_size": size}
    return [
        framework if backend in ("tensorflow", framework) else f"{framework}.{backend}",
        t["mode"],
        t["model"] + (f".{label}" if label else ""),
        *parts(BEFORE_DEVICE, row),
        t["device"],
        *parts([c for c in labelled() if c not in BEFORE_DEVICE], row),
    ]
