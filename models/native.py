"""Native models: a user's own ``torch.nn.Module`` / ``keras.Model`` factory, by import string.

Declared in bench.toml as ``[models.NAME] torch = "package.module:factory"`` and/or
``keras = "package.module:factory"`` (or the file form ``"path/to/file.py:factory"``). The parent
checks only the strings' form (``parse_ref``): it never imports them. A trial's child imports the
factory of its own framework (``load_factory``) and calls ``factory(input_shape, classes)``:

- ``input_shape``: a tuple ``(H, W, C)`` — channels last in both frameworks — and ``classes`` an
  int (the data's class count);
- torch: a ``torch.nn.Module`` that maps a float32 NCHW batch ``(N, C, H, W)`` to logits
  ``(N, classes)``; Keras: a ``keras.Model`` that maps an NHWC batch ``(N, H, W, C)`` to logits
  ``(N, classes)``; no softmax in either (the loss takes logits).

The runner seeds its framework's RNG from the trial's seed before calling the factory, so a
native model starts from the same weights in every repeat; but those are the factory's own
initial weights: torch and Keras natives never start identical, as spec models do.
``train_flops`` counts a native torch model's training FLOPs with ``FlopCounterMode``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The frameworks a native model may have a factory for (the bench.toml keys).
NATIVE_FRAMEWORKS = ("torch", "keras")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_ATTR = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True, slots=True)
class NativeRef:
    """A native model's factories: an import string per framework ("" where it has none)."""

    torch: str = ""
    keras: str = ""

    def for_framework(self, framework: str) -> str:
        return getattr(self, framework, "") if framework in NATIVE_FRAMEWORKS else ""

    def __str__(self) -> str:
        return ", ".join(
            f"{fw} = {getattr(self, fw)}" for fw in NATIVE_FRAMEWORKS if getattr(self, fw)
        )


def parse_ref(text: str) -> str:
    """Check an import string's form, without importing it: ``package.module:factory``, or
    ``path/to/file.py:factory`` (the file must exist; returned with an absolute path).
    ``ValueError`` says what was expected."""
    where, sep, attr = str(text).rpartition(":")
    if not sep or not _ATTR.fullmatch(attr) or not where:
        raise ValueError(
            f"{text!r} is not an import string: expected 'package.module:factory' or "
            "'path/to/file.py:factory'"
        )
    if where.endswith(".py"):
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"{text!r}: file {path} not found (relative to {os.getcwd()})")
        return f"{path}:{attr}"
    if not _MODULE.fullmatch(where):
        raise ValueError(f"{text!r}: {where!r} is neither a module name nor a .py file")
    return f"{where}:{attr}"


def load_factory(ref: str) -> Any:
    """Import the factory ``ref`` names (in a trial's child; never in the harness parent)."""
    where, _, attr = ref.rpartition(":")
    if where.endswith(".py"):
        name = "bench_native_" + re.sub(r"\W", "_", Path(where).stem)
        spec = importlib.util.spec_from_file_location(name, where)
        if spec is None or spec.loader is None:
            raise ImportError(f"native model {ref}: cannot load {where}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # as `python -m` does: the current folder first
        module = importlib.import_module(where)
    factory: Any = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise ImportError(f"native model {ref}: {where} has no {attr!r}")
    if not callable(factory):
        raise TypeError(f"native model {ref}: {attr!r} is not callable")
    return factory


def build_torch(ref: str, input_shape: tuple[int, ...], classes: int) -> Any:
    """``factory(input_shape, classes)``, checked to be a ``torch.nn.Module``."""
    import torch

    model = load_factory(ref)(tuple(input_shape), int(classes))
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"native model {ref} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def build_keras(ref: str, input_shape: tuple[int, ...], classes: int) -> Any:
    """``factory(input_shape, classes)``, checked to be a ``keras.Model`` and built for
    ``(None, *input_shape)`` if the factory left it unbuilt (a subclassed model)."""
    import keras

    model = load_factory(ref)(tuple(input_shape), int(classes))
    if not isinstance(model, keras.Model):
        raise TypeError(f"native model {ref} returned {type(model).__name__}, not a keras.Model")
    if not model.built:
        model.build((None, *input_shape))
    return model


def train_flops(torch: Any, model: Any, input_shape: tuple[int, ...], device: Any) -> int:
    """Training FLOPs per sample of a torch model, as ``FlopCounterMode`` counts them (conv and
    matmul only, forward and backward) on one step of a batch of 2 in training mode. Run it after
    training (the step changes the model's state) on the plain module — not a
    ``DistributedDataParallel`` wrapper, whose forward would start a collective. A model that
    cannot be run raises; the caller records why (`bench.runners.torch`)."""
    from torch.utils.flop_counter import FlopCounterMode

    h, w, c = input_shape
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(torch.randn(2, c, h, w, device=device))
        out.float().sum().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() // 2
