"""bench.toml → validated, frozen configuration.

The file is read with `tomllib`; every section is a frozen dataclass whose fields carry their
own rule (type, minimum, choices). CLI flags are applied as overrides through the same checks, so
a bad value gets the same one-paragraph `UsageError` naming the file (or flag), the key, the value
and what was expected, whichever way it came in.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.rules import build_section, fail, setting
from bench.errors import UsageError
from bench.hardware.precision import AUTOTUNES, PRECISIONS

FRAMEWORKS = ("torch", "keras", "numpy", "fake")
TORCH_MODES = ("eager", "compile")
KERAS_MODES = ("graph", "eager", "xla")
KERAS_BACKENDS = ("tensorflow", "jax", "torch")
CACHES = ("cold", "warm")
OPTIMIZERS = ("sgd", "adam")
PIPELINES = ("memory", "loader")
FAKE_FAILURES = ("none", "raise", "exit", "kill", "hang", "oom")
LAUNCHERS = ("local", "slurm", "submitit-local")
PARALLEL = ("single", "data")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda|cuda:\d+|mps")
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class Sweep:
    frameworks: tuple[str, ...] = setting(("torch", "keras"), "str_list", choices=FRAMEWORKS)
    models: tuple[str, ...] = setting(("seed_cnn", "seed_ffnn"), "str_list")
    devices: tuple[str, ...] = setting(("auto",), "str_list")
    batch_sizes: tuple[int, ...] = setting((64,), "int_list", minimum=1)
    input_sizes: tuple[int, ...] = setting((), "int_list", minimum=1)
    torch_modes: tuple[str, ...] = setting(("eager",), "str_list", choices=TORCH_MODES)
    keras_modes: tuple[str, ...] = setting(("graph",), "str_list", choices=KERAS_MODES)
    keras_backends: tuple[str, ...] = setting(("tensorflow",), "str_list", choices=KERAS_BACKENDS)
    caches: tuple[str, ...] = setting(("cold",), "str_list", choices=CACHES)
    precisions: tuple[str, ...] = setting(("fp32",), "str_list", choices=PRECISIONS)
    autotune: tuple[str, ...] = setting(("default",), "str_list", choices=AUTOTUNES)
    threads: tuple[int, ...] = setting((), "int_list", minimum=1)
    repeats: int = setting(4, "int", minimum=1)  # = bench.toml: runs anywhere compare
    warmup: int = setting(1, "int", minimum=0)
    parallel: tuple[str, ...] = setting(("single",), "str_list", choices=PARALLEL)
    # replicas of a `data` trial; () = every chosen GPU on CUDA, 2 processes on the CPU
    world_sizes: tuple[int, ...] = setting((), "int_list", minimum=1)


@dataclass(frozen=True, slots=True)
class Train:
    epochs: int = setting(6, "int", minimum=2)  # 5 steady epochs: the drift test runs
    samples: int = setting(3200, "int", minimum=1)
    optimizer: str = setting("adam", "str", choices=OPTIMIZERS)
    learning_rate: float = setting(0.001, "float", minimum=0.0)
    timeout_s: float = setting(1800.0, "float", minimum=1.0)


@dataclass(frozen=True, slots=True)
class Data:
    # synthetic | mnist5k | mnist:PATH | cifar10:PATH | folder:PATH, checked by `resolve_data`
    dataset: str = setting("synthetic", "str")
    seed: int = setting(0, "int", minimum=0)
    pipeline: tuple[str, ...] = setting(("memory",), "str_list", choices=PIPELINES)
    workers: int = setting(2, "int", minimum=0)
    augment: bool = setting(False, "bool")
    val_fraction: float = setting(0.1, "float", minimum=0.0)
    evaluate: bool = setting(True, "bool")


def resolve_data(config: Config) -> Config:
    """Check [data] beyond single-key rules; store the dataset spec with an absolute path, so
    that trial processes (and --resume from another folder) read the same files."""
    from bench.data.load import describe, validate_spec
    from bench.data.source import DatasetError

    where, data = config.source, config.data
    try:
        validate_spec(data.dataset)
    except DatasetError as exc:
        raise UsageError(
            f"{where}: [data] dataset = {data.dataset!r} is invalid: {str(exc).rstrip('.')}. "
            "Data sets: synthetic, mnist5k, mnist:PATH, cifar10:PATH, folder:PATH."
        ) from None
    if data.val_fraction >= 1.0:
        raise fail(where, "data", "val_fraction", data.val_fraction, "a number ≥ 0 and < 1")
    if data.augment and "loader" not in data.pipeline:
        raise UsageError(
            f"{where}: [data] augment = true needs the loader pipeline (augmentation runs in the "
            f'input pipeline), but [data] pipeline = {list(data.pipeline)!r}; add "loader".'
        )
    resolved = dataclasses.replace(data, dataset=describe(data.dataset))
    return dataclasses.replace(config, data=resolved)


@dataclass(frozen=True, slots=True)
class Monitor:
    enabled: bool = setting(True, "bool")
    interval_s: float = setting(0.2, "float", minimum=0.01)


@dataclass(frozen=True, slots=True)
class Output:
    dir: str = setting("results", "str")
    name: str = setting("", "str")


@dataclass(frozen=True, slots=True)
class Fake:
    phase_s: float = setting(0.1, "float", minimum=0.0)
    first_step_s: float = setting(0.5, "float", minimum=0.0)
    epoch_s: tuple[float, ...] = setting((2.0, 1.0), "float_list", minimum=0.0)
    sleep: bool = setting(False, "bool")
    fail: str = setting("none", "str", choices=FAKE_FAILURES)
    fail_epoch: int = setting(1, "int", minimum=1)
    fail_rank: int = setting(-1, "int", minimum=-1)  # the rank that fails (-1: every rank)
    slow_models: tuple[str, ...] = setting((), "str_list")  # ... run `slowdown` × as long
    slowdown: float = setting(1.0, "float", minimum=0.0)


@dataclass(frozen=True, slots=True)
class Launcher:
    """How trial processes start: here (`local`), as Slurm jobs through submitit (`slurm`), or
    as submitit's local jobs (`submitit-local`). The other keys are Slurm's (0 = not asked)."""

    kind: str = setting("local", "str", choices=LAUNCHERS)
    partitions: tuple[str, ...] = setting((), "str_list")
    gpus_per_node: int = setting(0, "int", minimum=0)
    cpus_per_task: int = setting(0, "int", minimum=0)
    mem_gb: float = setting(0.0, "float", minimum=0.0)
    time_min: int = setting(60, "int", minimum=1)
    exclusive: bool = setting(True, "bool")
    array_parallelism: int = setting(64, "int", minimum=1)
    additional: tuple[tuple[str, Any], ...] = setting((), "table")
    folder: str = setting("", "str")  # "" = <[output] dir>/submitit


@dataclass(frozen=True, slots=True)
class Config:
    sweep: Sweep = field(default_factory=Sweep)
    train: Train = field(default_factory=Train)
    data: Data = field(default_factory=Data)
    output: Output = field(default_factory=Output)
    monitor: Monitor = field(default_factory=Monitor)
    fake: Fake = field(default_factory=Fake)
    launcher: Launcher = field(default_factory=Launcher)
    #: model name → option → values to sweep (the [options.<model>] tables)
    options: dict[str, dict[str, tuple[Any, ...]]] = field(default_factory=dict)
    #: users' own models: the [models] section, normalized (`models.user`; paths absolute)
    models: dict[str, Any] = field(default_factory=dict)
    source: str = "(defaults)"

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (for run.json and --resume)."""
        sections = {s: _section_dict(getattr(self, s)) for s in SECTIONS}
        options = {m: {k: list(v) for k, v in o.items()} for m, o in self.options.items()}
        users = {"models": self.models} if self.models else {}
        return sections | {"options": options, **users, "source": self.source}


SECTIONS: dict[str, type] = {
    "sweep": Sweep,
    "train": Train,
    "data": Data,
    "output": Output,
    "monitor": Monitor,
    "fake": Fake,
    "launcher": Launcher,
}


def _section_dict(section: Any) -> dict[str, Any]:
    """A section as TOML-shaped data; an empty list (= "use the default") is left out."""
    values = {
        f.name: dict(v) if f.metadata["kind"] == "table" else _plain(v)
        for f in dataclasses.fields(section)
        for v in [getattr(section, f.name)]
    }
    return {k: v for k, v in values.items() if v != []}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse(doc: dict[str, Any], where: str) -> Config:
    """Validate a parsed TOML document (sections → keys) into a Config."""
    sections: dict[str, Any] = {"models": parse_models(doc.get("models", {}), where)}
    for name, raw in doc.items():
        if name == "models":
            continue
        if name == "options":
            sections["options"] = _parse_options(raw, where)
            continue
        if name not in SECTIONS:
            raise UsageError(
                f"{where}: unknown section [{name}]; valid sections: "
                + ", ".join([*SECTIONS, "options", "models"])
                + "."
            )
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: [{name}] must be a table of keys, got {raw!r}.")
        sections[name] = build_section(SECTIONS[name], raw, where, name)
    config = Config(**sections, source=where)
    check_names(config)
    return resolve_data(config)


def parse_models(raw: Any, where: str) -> dict[str, Any]:
    """[models]: users' spec files, layer lists and native models, checked and installed in
    the zoo (a broken spec file is an error naming the file and line)."""
    from models import user

    try:
        section = user.normalize(raw)
        user.install(section, where)
    except ValueError as exc:
        raise UsageError(f"{where}: {str(exc).rstrip('.')}.") from None
    return section


def _parse_options(raw: Any, where: str) -> dict[str, dict[str, tuple[Any, ...]]]:
    """[options.<model>] tables: option name → a value or a list of values to sweep."""
    from models import zoo

    if not isinstance(raw, dict):
        raise UsageError(f"{where}: [options] must hold one table per model, got {raw!r}.")
    parsed: dict[str, dict[str, tuple[Any, ...]]] = {}
    for model, table in raw.items():
        if model not in zoo.names():
            raise UsageError(
                f"{where}: [options.{model}]: unknown model; choose from: {', '.join(zoo.names())}."
            )
        declared = zoo.info(model).options
        if not isinstance(table, dict):
            raise UsageError(f"{where}: [options.{model}] must be a table, got {table!r}.")
        parsed[model] = {}
        for key, value in table.items():
            if key not in declared:
                valid = ", ".join(declared) or "none"
                raise UsageError(
                    f"{where}: [options.{model}] unknown option {key!r}; options of {model}: "
                    f"{valid}."
                )
            values = tuple(value) if isinstance(value, list) else (value,)
            bad = [v for v in values if v not in declared[key].choices] or not values
            if bad or len(set(values)) != len(values):
                raise UsageError(
                    f"{where}: [options.{model}] {key} = {value!r} is invalid: expected distinct "
                    f"values from: {', '.join(map(repr, declared[key].choices))}."
                )
            parsed[model][key] = values
    return parsed


def check_names(config: Config) -> None:
    """Cross-field checks: model names, device spellings, samples vs batch size."""
    from models import zoo

    where, sweep = config.source, config.sweep
    for model in sweep.models:
        if model not in zoo.names():
            raise UsageError(
                f"{where}: [sweep] models: unknown model {model!r}; "
                f"choose from: {', '.join(zoo.names())}."
            )
        channels = zoo.info(model).input_shape[2]
        for size in sweep.input_sizes if zoo.info(model).native is None else ():
            try:
                zoo.get(model, (size, size, channels))
            except ValueError as exc:
                raise UsageError(
                    f"{where}: [sweep] input_sizes: {model} cannot take {size}x{size} "
                    f"inputs: {exc}."
                ) from None
    for device in sweep.devices:
        if not DEVICE_PATTERN.fullmatch(device):
            raise UsageError(
                f"{where}: [sweep] devices: {device!r} is not a device; "
                "use auto, cpu, cuda (every GPU), cuda:N or mps (Apple)."
            )
    if not NAME_PATTERN.fullmatch(config.output.name):
        raise UsageError(
            f"{where}: [output] name = {config.output.name!r}: use only letters, digits, "
            "'.', '_' and '-' (it becomes part of the run folder's name)."
        )
    biggest = max(sweep.batch_sizes)
    if config.train.samples < biggest:
        raise UsageError(
            f"{where}: [train] samples = {config.train.samples} is smaller than the largest "
            f"batch size {biggest}: an epoch needs at least one full batch."
        )


def read_doc(path: Path) -> dict[str, Any]:
    """The TOML document at `path`, or a UsageError naming the file."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config file: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}.") from None


def load(
    path: Path | None,
    overrides: dict[str, dict[str, Any]] | None = None,
    flags: list[str] | None = None,
) -> Config:
    """Read `path` (None: built-in defaults), apply CLI overrides, validate everything.

    `overrides` maps section → key → value; `flags` names the CLI flags they came from.
    """
    doc = read_doc(path) if path is not None else {}
    where = "(defaults)" if path is None else str(path)
    if not overrides or "models" not in overrides:  # the file alone: its errors name it alone
        base = parse(doc, where)
        if not overrides:
            return base
    merged = {**doc, **{s: dict(doc.get(s, {})) for s in [*SECTIONS, "models"]}}
    for section, keys in overrides.items():
        merged[section].update(keys)
    named = ", ".join(flags or [k for keys in overrides.values() for k in keys])
    return parse(merged, f"{where} + command line ({named})")
