"""What this venv has installed that GPU runs care about: the JAX GPU plugins, and pairs of
distributions that overwrite each other's files.

Read through `importlib.metadata.distributions()` — each distribution's `metadata["Name"]` and
`files` (its RECORD: `PackagePath`s with `.size`, `locate_file(path)` for where one lies) — taken
as a parameter, so tests hand in fake distributions. pip installs a wheel's files over whatever
is there and records them in the wheel's own RECORD; two distributions that list the same path
leave the copy of the one installed last on disk. The file's size on disk, compared with each
RECORD's size, says whose copy it is.

The pairs:

- `nvidia-nccl-cu12` (pulled by `tensorflow[and-cuda]`, `jax[cuda12]`, a CUDA 12 torch) and
  `nvidia-nccl-cu13` (torch 2.13 from PyPI, `jax[cuda13]`) both install `libnccl.so.2`;
- `tensorflow` and `tensorflow-cpu` both install the `tensorflow` package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Distributions = Callable[[], Iterable[Any]]

#: (one distribution, the other, what they share, what to do).
PAIRS = (
    (
        "nvidia-nccl-cu12",
        "nvidia-nccl-cu13",
        "libnccl.so.2",
        "the frameworks built for the other CUDA major load the wrong NCCL; keep torch 2.13 "
        "(gpu-torch, CUDA 13) and TensorFlow (gpu-tf, CUDA 12) in separate venvs",
    ),
    (
        "tensorflow",
        "tensorflow-cpu",
        "the tensorflow package",
        "pip uninstall -y tensorflow tensorflow-cpu, then install one: '.[gpu-tf]' on a GPU "
        "machine, '.[keras]' (tensorflow-cpu) elsewhere",
    ),
)


def _default() -> Iterable[Any]:
    from importlib import metadata  # only here: importing it costs ~30 ms

    return metadata.distributions()


def name_of(dist: Any) -> str:
    """A distribution's name as pip compares them: lower case, `_` and `.` as `-`."""
    return (dist.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")


def installed(distributions: Distributions | None = None) -> dict[str, Any]:
    """Every installed distribution by its normalised name."""
    return {name_of(d): d for d in (distributions or _default)()}


def jax_gpu_plugins(distributions: Distributions | None = None) -> list[str]:
    """The installed JAX GPU plugin distributions (jax-cuda12-plugin, jax-rocm7-pjrt, ...)."""
    return sorted(n for n in installed(distributions) if n.startswith(("jax-cuda", "jax-rocm")))


def _on_disk(path: Any, first: Any, second: Any) -> Any | None:
    """Which of two distributions' copies of `path` is on disk (by size), or None."""
    sizes = {}
    for dist in (first, second):
        entry = next((f for f in dist.files or () if str(f) == str(path)), None)
        sizes[id(dist)] = getattr(entry, "size", None)
    try:
        size = Path(first.locate_file(path)).stat().st_size
    except OSError:
        return None
    owners = [d for d in (first, second) if sizes[id(d)] == size]
    return owners[0] if len(owners) == 1 else None


def _shared(first: Any, second: Any) -> list[str]:
    """The paths both distributions' RECORDs list, largest files first (their sizes most
    likely differ), RECORD files themselves left out."""
    mine = {str(f): f for f in first.files or ()}
    both = [f for f in second.files or () if str(f) in mine and not str(f).endswith("RECORD")]
    return [str(f) for f in sorted(both, key=lambda f: -(getattr(f, "size", 0) or 0))]


def _label(dist: Any) -> str:
    version = dist.metadata["Version"]
    return f"{name_of(dist)} {version}" if version else name_of(dist)


def overwrites(distributions: Distributions | None = None) -> list[str]:
    """One sentence per pair of distributions installed together that overwrite each other:
    which copy is on disk (installed last) and what to do."""
    found = installed(distributions)
    said = []
    for one, other, what, fix in PAIRS:
        if one not in found or other not in found:
            continue
        first, second = found[one], found[other]
        shared = _shared(first, second)
        winner = next((w for p in shared[:5] if (w := _on_disk(p, first, second))), None)
        if winner is not None:
            last = f"the copy on disk is {name_of(winner)}'s (installed last)"
        elif shared:
            last = "whichever was installed last overwrote the other's files"
        else:
            last = "whichever loads first in a process is used"
        said.append(f"{_label(first)} and {_label(second)} both install {what}: {last}; {fix}")
    return said
