"""Load a user's spec file: Python that registers ``ModelSpec`` factories with ``@register``.

A spec file imports the spec vocabulary (``models.spec``) and the decorator (``models.zoo``),
never a framework: the harness parent reads it to list, size and plan its models, and the
parent never imports torch, TensorFlow, Keras or JAX. ``load(path)`` executes the file under a
guard — an import hook that refuses those frameworks, directly or through another module — then
builds each model it registered at its default size and checks it against the vocabulary
(``models.flops``). Every problem is a ``SpecFileError`` naming the file and, where there is
one, the line: a syntax error, a framework import, an exception, an unknown layer, a name the
zoo already has, a file that registers nothing.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models import flops, zoo
from models.spec import ModelSpec, vocabulary

#: Top-level packages a spec file must not import (directly or through another module).
FRAMEWORK_MODULES = ("torch", "torchvision", "tensorflow", "keras", "tf_keras", "jax", "jaxlib")


class SpecFileError(ValueError):
    """A spec file that cannot be used; the message names the file (and line)."""


class FrameworkImport(BaseException):
    """Raised by the guard; a BaseException so that no ``except Exception`` in the file hides it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _framework(name: str) -> bool:
    return name.split(".")[0] in FRAMEWORK_MODULES


class _Refuse:
    """A ``sys.meta_path`` finder that refuses the frameworks (``importlib.import_module``)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if _framework(name):
            raise FrameworkImport(name)


@contextmanager
def guard() -> Iterator[None]:
    """Within: importing a framework raises ``FrameworkImport``, even one already imported."""
    real = builtins.__import__

    def guarded(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level=0):
        if level == 0 and _framework(name):
            raise FrameworkImport(name)
        return real(name, globals, locals, fromlist, level)

    real_module = importlib.import_module

    def guarded_module(name: str, package: str | None = None) -> Any:
        if _framework(importlib.util.resolve_name(name, package) if name[:1] == "." else name):
            raise FrameworkImport(name)  # a cached module never reaches a finder
        return real_module(name, package)

    finder = _Refuse()
    builtins.__import__, importlib.import_module = guarded, guarded_module
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        builtins.__import__, importlib.import_module = real, real_module
        sys.meta_path.remove(finder)


def _line(exc: BaseException, path: Path) -> str:
    """ ", line N" of the deepest traceback frame in the spec file ("" when none is)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", line {line}" if line is not None else ""


def _problem(exc: BaseException) -> str:
    """What went wrong, in the user's words; framework imports and unknown layers explained."""
    if isinstance(exc, FrameworkImport):
        return (
            f"imports {exc.name}, a framework; a spec file may import only models.spec and "
            "models.zoo (and plain Python), because the harness reads it in its parent "
            "process, which never imports a framework. Describe the network with the layers "
            f"of models.spec, or declare it a native model ([models.NAME] torch = "
            '"module:factory")'
        )
    if isinstance(exc, SystemExit | KeyboardInterrupt):
        return (
            f"raises {type(exc).__name__}{''.join(f' {a!r}' for a in exc.args[:1])} (sys.exit() or "
            "an interrupt): a spec file only defines models; it may not end the harness"
        )
    text = str(exc)
    unknown = re.match(r"cannot import name '(\w+)' from 'models\.spec'", text)
    if isinstance(exc, ImportError) and unknown:
        return f"unknown layer {unknown.group(1)!r}; the layers of models.spec are: {vocabulary()}"
    return f"{type(exc).__name__}: {text}"


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", path.stem)
    return f"bench_spec_{stem}_{digest}"


def _execute(path: Path) -> None:
    """Compile and run the file as a module, under the guard and as the file's registrations."""
    try:
        code = compile(path.read_bytes(), str(path), "exec")
    except OSError as exc:
        raise SpecFileError(f"{path}: cannot read the spec file: {exc.strerror or exc}") from None
    except SyntaxError as exc:
        raise SpecFileError(f"{path}, line {exc.lineno}: syntax error: {exc.msg}") from None
    name = _module_name(path)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    before = {m for m in sys.modules if _framework(m)}
    try:
        with zoo.defining(str(path)), guard():
            exec(code, module.__dict__)
    except (Exception, FrameworkImport, SystemExit, KeyboardInterrupt) as exc:
        sys.modules.pop(name, None)
        raise SpecFileError(f"{path}{_line(exc, path)}: {_problem(exc)}") from None
    if added := sorted({m for m in sys.modules if _framework(m)} - before):
        raise SpecFileError(f"{path}: {_problem(FrameworkImport(added[0]))}")


def _check(path: Path, name: str) -> None:
    """Build model ``name`` at its defaults and walk it through the analytic shapes."""
    try:
        with guard():
            spec = zoo.get(name)
            if not isinstance(spec, ModelSpec):
                raise TypeError(f"the factory returned {type(spec).__name__}, not a ModelSpec")
            flops.layer_table(spec)
    except (Exception, FrameworkImport, SystemExit, KeyboardInterrupt) as exc:
        problem = _problem(exc).removeprefix("TypeError: ").removeprefix("ValueError: ")
        raise SpecFileError(f"{path}{_line(exc, path)}: model {name!r}: {problem}") from None


def load(path: Path) -> list[str]:
    """Execute spec file ``path`` (absolute) and check what it registered; the model names."""
    path = Path(path)
    before = set(zoo.names())
    _execute(path)
    names = sorted(set(zoo.names()) - before)
    if not names:
        raise SpecFileError(
            f"{path}: registers no model; decorate a factory returning a ModelSpec with "
            "@register(name, input_shape=..., classes=...) from models.zoo"
        )
    for name in names:
        _check(path, name)
    return names
