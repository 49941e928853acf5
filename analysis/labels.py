"""Names and orders shared by tables and figures: variant labels and category orders (numbers
are written by `analysis.numbers`).

Categories are always drawn and listed in an explicit order — frameworks and modes as below,
devices CPU first then GPUs by index, models in the order the run planned them — so figures of
different runs line up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

FRAMEWORK_ORDER = ("torch", "keras", "numpy", "fake")
MODE_ORDER = ("eager", "graph", "compile", "xla", "scripted")
DEFAULT_BACKEND = {"torch": "torch", "keras": "tensorflow", "numpy": "numpy", "fake": "fake"}
MIB = 1024**2


def variant(framework: str, backend: str, mode: str) -> str:
    """'torch eager', 'keras graph', 'keras[jax] xla': the backend only where not the default."""
    name = framework
    if backend and backend != DEFAULT_BACKEND.get(framework, framework):
        name = f"{framework}[{backend}]"
    return f"{name} {mode}"


def device_kind(device: str) -> str:
    """'cpu', 'cuda', 'mps': the device without its index."""
    return device.split(":", 1)[0]


def _rank(value: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def variant_key(label: str) -> tuple:
    framework, _, mode = label.partition(" ")
    base = framework.split("[", 1)[0]
    return (*_rank(base, FRAMEWORK_ORDER), framework, *_rank(mode, MODE_ORDER))


def device_key(device: str) -> tuple:
    kind, _, index = device.partition(":")
    return (kind != "cpu", kind, int(index) if index.isdigit() else -1, device)


def order_variants(labels: Iterable[str]) -> list[str]:
    return sorted(set(labels), key=variant_key)


def order_devices(devices: Iterable[str]) -> list[str]:
    return sorted(set(devices), key=device_key)


def order_models(trials: pd.DataFrame) -> list[str]:
    """Models in the order the runs planned them (first appearance by `order`)."""
    return list(dict.fromkeys(trials.sort_values(["run_id", "order"])["model"]))


def pixels(input_shape: str) -> int:
    """'224x224x3' → 224·224 (height × width)."""
    dims = [int(d) for d in re.findall(r"\d+", input_shape)]
    return dims[0] * dims[1] if len(dims) >= 2 else (dims[0] if dims else 0)
