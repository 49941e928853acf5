"""Users' own models, as bench.toml's ``[models]`` section declares them, joined to the zoo.

The section, in TOML shape (plain data: run.json records it, every ``Trial`` carries it, so a
trial's child installs exactly what the parent planned):

- ``files = ["my_models.py", ...]``: spec files (``models.spec_file``);
- ``[models.NAME] layers = [...]``: a layer list in the spec vocabulary (``models.layer_list``);
- ``[models.NAME] torch = "package.module:factory"`` and/or ``keras = "..."``: a native model
  (``models.native``), built by its own factory, with no spec;
- in a table also ``input_shape = [H, W, C]`` (default 28×28×1), ``classes`` (default 10) and
  ``description``: the model's defaults, as a zoo registration has them (data with its own
  shape and classes overrides them, as it does for every model).

``normalize`` checks the section's form and makes its paths absolute (relative paths are read
from the current folder), importing nothing; ``install`` replaces the users' models in the zoo
with the section's. Both raise ``ValueError`` naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.contract.names import name_problem
from models import layer_list, native, spec_file, zoo

TABLE_KEYS = ("layers", "torch", "keras", "input_shape", "classes", "description")
DEFAULT_INPUT_SHAPE = (28, 28, 1)
DEFAULT_CLASSES = 10


def _files(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"[models] files = {value!r}: expected a list of spec file paths")
    paths = []
    for text in value:
        path = Path(text).expanduser().resolve()
        if not path.is_file():
            raise ValueError(
                f"[models] files: spec file {text!r} not found ({path}; relative paths are read "
                "from the current folder)"
            )
        if str(path) in paths:
            raise ValueError(f"[models] files: {text!r} is named twice")
        paths.append(str(path))
    return paths


def _shape(name: str, value: Any) -> list[int]:
    ok = isinstance(value, list) and len(value) == 3
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ValueError(
            f"[models.{name}] input_shape = {value!r}: expected [height, width, channels], "
            "three integers ≥ 1"
        )
    return list(value)


def _table(name: str, table: Any) -> dict[str, Any]:
    """One model table, checked; native import strings normalized (file paths absolute)."""
    if problem := name_problem(name):
        raise ValueError(f"[models.{name}]: not a valid model name: {problem}")
    if not isinstance(table, dict):
        raise ValueError(f"[models.{name}] must be a table of keys, got {table!r}")
    if unknown := sorted(set(table) - set(TABLE_KEYS)):
        raise ValueError(
            f"[models.{name}]: unknown key {unknown[0]!r}; valid keys: {', '.join(TABLE_KEYS)}"
        )
    natives = [fw for fw in native.NATIVE_FRAMEWORKS if fw in table]
    if ("layers" in table) == bool(natives):
        raise ValueError(
            f"[models.{name}]: give either layers = [...] (a spec model) or torch = and/or "
            'keras = "module:factory" (a native model), not ' + ("both" if natives else "neither")
        )
    out = dict(table)
    for fw in natives:
        if not isinstance(table[fw], str):
            raise ValueError(f"[models.{name}] {fw} = {table[fw]!r}: expected an import string")
        try:
            out[fw] = native.parse_ref(table[fw])
        except ValueError as exc:
            raise ValueError(f"[models.{name}] {fw} = {exc}") from None
    if "input_shape" in table:
        out["input_shape"] = _shape(name, table["input_shape"])
    classes = table.get("classes", DEFAULT_CLASSES)
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise ValueError(f"[models.{name}] classes = {classes!r}: expected an integer ≥ 1")
    if not isinstance(table.get("description", ""), str):
        raise ValueError(f"[models.{name}] description: expected a string")
    return out


def normalize(section: Any) -> dict[str, Any]:
    """The section checked, with absolute paths; ``{}`` stays ``{}``. Imports nothing."""
    if not isinstance(section, dict):
        raise ValueError(f"[models] must be a table, got {section!r}")
    out: dict[str, Any] = {}
    if "files" in section:
        out["files"] = _files(section["files"])
    for name, table in section.items():
        if name != "files":
            out[name] = _table(name, table)
    return out


def _register(name: str, table: dict[str, Any]) -> None:
    shape = tuple(table.get("input_shape", DEFAULT_INPUT_SHAPE))
    classes = table.get("classes", DEFAULT_CLASSES)
    description = table.get("description", "")
    if "layers" not in table:
        ref = native.NativeRef(**{fw: table.get(fw, "") for fw in native.NATIVE_FRAMEWORKS})
        zoo.register_native(
            name, ref, input_shape=shape, classes=classes, description=description or str(ref)
        )
        return
    build = layer_list.factory(name, table["layers"], description)
    text = description or "layer list: " + " → ".join(_kind(i) for i in table["layers"])
    zoo.register(name, input_shape=shape, classes=classes, description=text)(build)
    zoo.get(name)  # the list at its defaults: an unknown layer or a bad shape fails here


def _kind(item: Any) -> str:
    return str(item.get("layer", "?")) if isinstance(item, dict) else str(item)


def install(section: dict[str, Any], where: str = "") -> list[str]:
    """Replace the users' models in the zoo with those of a normalized section; their names.
    ``where`` (the config file) goes into the tables' origin. On an error the zoo is left with
    none of them."""
    zoo.clear_user()
    try:
        for path in section.get("files", []):
            spec_file.load(Path(path))
        for name, table in section.items():
            if name == "files":
                continue
            try:
                with zoo.defining(f"[models.{name}]" + (f" in {where}" if where else "")):
                    _register(name, table)
            except ValueError as exc:
                raise ValueError(f"[models.{name}] {exc}") from None
    except ValueError:
        zoo.clear_user()
        raise
    return zoo.user_names()
