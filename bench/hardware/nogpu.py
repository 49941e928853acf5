"""Why this machine offers no GPU, each reason with its fix in one line: what `bench devices` and
`bench doctor` print, and what `--devices cuda` says when it is refused.

`diagnose` is pure: it takes the facts — the environment, a torch module (or anything with
`version.cuda` / `version.hip`, or None when torch is not installed), whether the NVML library
loads, whether `/dev/nvidia*` device files exist, how many boards NVML lists (None where NVML
could not start) and the OS — so that every case is tested with made-up facts. `facts` gathers
them without importing a framework (DESIGN.md, principle 1): torch's build is read from its
`torch/version.py` file, which a wheel writes at build time (`cuda = '12.8'`, or None on a CPU or
ROCm build; `hip` set on ROCm builds), not by importing torch.

The reasons, in the order they are told:

- `CUDA_VISIBLE_DEVICES` set to nothing, or to `-1` (a common "hide the GPUs" idiom), or to
  entries that name none of NVML's boards: CUDA then sees no GPU, whatever is installed;
- macOS: no CUDA at all; Apple's GPU is `mps`;
- no NVIDIA driver: neither its library (`libnvidia-ml.so.1`, which NVML and CUDA's driver API
  load) nor its device files; or one without the other — a kernel module not loaded, or a
  container started without the GPU;
- the driver loads but NVML lists no board;
- torch is a CPU-only build (`torch.version.cuda` and `torch.version.hip` both None): it would
  see no GPU even on a machine with one.
"""

from __future__ import annotations

import ast
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.hardware.placement import GPU_BUILD

NVML_LIBRARY = {"Linux": "libnvidia-ml.so.1", "Windows": "nvml.dll"}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason there is no GPU, and the one-line fix."""

    why: str
    fix: str

    def __str__(self) -> str:
        return f"{self.why} — {self.fix}"


@dataclass(frozen=True, slots=True)
class Facts:
    """What `diagnose` reads; `facts()` gathers them on this machine."""

    environ: Mapping[str, str] = field(repr=False)
    torch: Any  # the torch module, a stand-in with `version.cuda` / `version.hip`, or None
    nvml_library: bool  # the NVIDIA driver's NVML library loads
    device_files: bool  # /dev/nvidia0, /dev/nvidiactl, ... exist
    boards: int | None = None  # GPUs NVML lists (CUDA_VISIBLE_DEVICES not applied); None: no NVML
    system: str = "Linux"  # platform.system()


def _visibility(value: str | None, boards: int | None) -> Reason | None:
    if value is None:
        return None
    entries = [e.strip() for e in value.split(",")]
    fix = "unset CUDA_VISIBLE_DEVICES, or list the GPUs to use, e.g. CUDA_VISIBLE_DEVICES=0"
    if not value.strip():
        return Reason("CUDA_VISIBLE_DEVICES is set but empty, which hides every GPU", fix)
    if entries[0].startswith("-"):
        return Reason(f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU", fix)
    if boards:
        return Reason(
            f"CUDA_VISIBLE_DEVICES={value!r} names none of this machine's {boards} GPU(s) "
            f"(indices 0..{boards - 1}, or GPU-/MIG- UUIDs)",
            fix,
        )
    return None


def _driver(facts: Facts) -> Reason | None:
    if not facts.nvml_library and not facts.device_files:
        return Reason(
            "no NVIDIA driver (libnvidia-ml cannot be loaded, no /dev/nvidia* device)",
            "install the NVIDIA driver (nvidia-smi must list the GPU), or run on a machine or "
            "node with one (a container: docker run --gpus all)",
        )
    if not facts.device_files:
        return Reason(
            "the NVIDIA driver's library is installed but there is no /dev/nvidia* device "
            "(kernel module not loaded, or a container started without the GPU)",
            "load the driver (sudo modprobe nvidia, or reboot after installing it), or start the "
            "container with --gpus all",
        )
    if not facts.nvml_library:
        return Reason(
            "/dev/nvidia* exists but the driver's library libnvidia-ml cannot be loaded",
            "install the NVIDIA user-space driver matching the kernel module (nvidia-smi must "
            "work); in a container, use the NVIDIA Container Toolkit (--gpus all)",
        )
    if not facts.boards:
        return Reason(
            "the NVIDIA driver is installed but NVML lists no GPU",
            "run nvidia-smi to see why (a driver/library version mismatch wants a reboot)",
        )
    return None


def _torch(torch: Any) -> Reason | None:
    version = getattr(torch, "version", None)
    if torch is None or getattr(version, "cuda", None) or getattr(version, "hip", None):
        return None
    label = getattr(torch, "__version__", "") or "?"
    return Reason(
        f"torch {label} is a CPU-only build (torch.version.cuda is None)", GPU_BUILD["torch"]
    )


def diagnose(facts: Facts) -> list[Reason]:
    """Every reason the facts give that CUDA would see no GPU here, most direct first; empty
    when none applies."""
    visible = facts.environ.get("CUDA_VISIBLE_DEVICES")
    reasons = [_visibility(visible, facts.boards)]
    if facts.system == "Darwin":
        reasons.append(Reason("macOS has no CUDA (Apple's GPU is mps)", "use --devices mps"))
    else:
        reasons += [_driver(facts), _torch(facts.torch)]
    return [r for r in reasons if r is not None]


def torch_build(init: str | Path | None) -> SimpleNamespace | None:
    """torch's `__version__`, `version.cuda` and `version.hip`, read from the `version.py` beside
    its `__init__.py` (`init`; None: torch is not installed) without importing torch."""
    if init is None:
        return None
    try:
        tree = ast.parse(Path(init).with_name("version.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return SimpleNamespace(__version__="?", version=SimpleNamespace(cuda="?", hip=None))
    found: dict[str, Any] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
            found[target.id] = value.value
    version = SimpleNamespace(cuda=found.get("cuda"), hip=found.get("hip"))
    return SimpleNamespace(__version__=found.get("__version__", "?"), version=version)


def _loads(library: str | None) -> bool:
    import ctypes

    try:
        return library is not None and bool(ctypes.CDLL(library))
    except OSError:
        return False


def facts(environ: Mapping[str, str] | None = None) -> Facts:
    """The facts on this machine (NVML started and stopped again to count its boards)."""
    import importlib.util

    from bench.hardware.nvml import Nvml

    spec = importlib.util.find_spec("torch")
    nvml = Nvml.load()
    boards = None if nvml is None else len(nvml.gpus())
    if nvml is not None:
        nvml.shutdown()
    system = platform.system()
    dev = Path("/dev")
    return Facts(
        environ=os.environ if environ is None else environ,
        torch=torch_build(spec.origin if spec is not None else None),
        nvml_library=_loads(NVML_LIBRARY.get(system)),
        device_files=(dev / "nvidiactl").exists() or any(dev.glob("nvidia[0-9]*")),
        boards=boards,
        system=system,
    )


def reasons_here() -> list[str]:
    """Why there is no GPU on this machine, one "why — fix" line per reason."""
    return [str(r) for r in diagnose(facts())]
