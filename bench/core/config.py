"""bench.toml → validated, frozen configuration.

The file is read with `tomllib`; every section is a frozen dataclass whose fields are declared,
with their rules, in `bench.core.settings` (type, default, bounds, choices, doc, flag, label).
CLI flags are applied as overrides through the same checks, so a bad value gets the same
one-paragraph `UsageError` naming the file (or flag), the key, the value and what was expected,
whichever way it came in. This module adds what no single key can say: the models and options
that exist, the data set's files, cross-key checks.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.rules import build_section, rule_of
from bench.core.settings import (  # noqa: F401  (re-exported: the config's names)
    CACHES,
    FRAMEWORKS,
    KERAS_BACKENDS,
    KERAS_MODES,
    OPTIMIZERS,
    PARALLEL,
    SECTIONS,
    TORCH_MODES,
    Sweep,
    Train,
)
from bench.core.settings_more import (  # noqa: F401
    FAKE_FAILURES,
    LAUNCHERS,
    PIPELINES,
    Data,
    Fake,
    Launcher,
    Monitor,
    Output,
)
from bench.errors import UsageError, close_match


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
            f"Data sets: {rule_of(Data, 'dataset').allowed}."
        ) from None
    if data.augment and "loader" not in data.pipeline:
        raise UsageError(
            f"{where}: [data] augment = true needs the loader pipeline (augmentation runs in the "
            f'input pipeline), but [data] pipeline = {list(data.pipeline)!r}; add "loader".'
        )
    resolved = dataclasses.replace(data, dataset=describe(data.dataset))
    return dataclasses.replace(config, data=resolved)


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


def _section_dict(section: Any) -> dict[str, Any]:
    """A section as TOML-shaped data; an empty list (= "use the default") is left out."""
    values = {
        f.name: dict(v) if f.metadata["rule"].kind == "table" else _plain(v)
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
    """Checks beyond one key's rule: model names and their input sizes, samples vs batch size,
    the sbatch options of `[launcher] additional`, momentum only for SGD."""
    from bench.launchers.slurm import check_additional
    from models import zoo

    where, sweep = config.source, config.sweep
    for model in sweep.models:
        if model not in zoo.names():
            guess = close_match(model, zoo.names())
            raise UsageError(
                f"{where}: [sweep] models: unknown model {model!r}; "
                + (f"did you mean {guess}? Choose" if guess else "choose")
                + f" from: {', '.join(zoo.names())}."
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
    biggest = max(sweep.batch_sizes)
    if config.train.samples < biggest:
        raise UsageError(
            f"{where}: [train] samples = {config.train.samples} is smaller than the largest "
            f"batch size {biggest}: an epoch needs at least one full batch."
        )
    check_additional(config.launcher.additional, where)
    train = config.train
    if train.momentum and train.optimizer != "sgd":
        raise UsageError(
            f"{where}: [train] momentum = {train.momentum:g} is SGD's; [train] optimizer = "
            f"{train.optimizer!r} has none (Adam's moments are its betas): set momentum = 0 "
            'or optimizer = "sgd".'
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
