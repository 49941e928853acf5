"""Names and orders shared by tables and figures: variant labels, category orders, formatting.

Categories are always drawn and listed in an explicit order — frameworks and modes as below,
devices CPU first then GPUs by index, models in the order the run planned them — so figures of
different runs line up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from bench.core.schema import PHASES

FRAMEWORK_ORDER = ("torch", "keras", "numpy", "fake")
MODE_ORDER = ("eager", "graph", "compile", "xla", "scripted")
DEFAULT_BACKEND = {"torch": "torch", "keras": "tensorflow", "numpy": "numpy", "fake": "fake"}
SETUP_PHASES = PHASES[: PHASES.index("first_step")]
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


def fmt(value: object, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, '—' for missing, '∞' for never."""
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, str):
        return value
    x = float(value)  # type: ignore[arg-type]
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "never" if x > 0 else "-∞"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.2e}"
    text = f"{x:.{digits}g}"
    return f"{x:,.0f}" if "e" in text else text


def fmt_ci(value: float, low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def fmt_mib(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value) / MIB:,.0f}"  # type: ignore[arg-type]


def fmt_level(level: float, nominal: float = 0.95) -> str:
    """A CI's confidence as a percentage, rounded down: the nominal '95%' where the interval
    reaches it, else its real level ('87%' with 4 repeats, '75%' with 3); '—' where none."""
    if level is None or math.isnan(level):
        return "—"
    return f"{math.floor(min(level, nominal) * 100 + 1e-9):.0f}%"
