"""Which GPUs the user's `CUDA_VISIBLE_DEVICES` makes visible, read the way CUDA reads it.

NVML ignores `CUDA_VISIBLE_DEVICES` and always lists every board, so the parent applies the
variable itself to NVML's inventory (`bench.hardware.nvml.GpuInfo`). The rules, from the CUDA
Programming Guide's "CUDA Environment Variables", the MPS and MIG user guides, and PyTorch's
`torch.cuda._parse_visible_devices` / `_transform_uuid_to_ordinals` (which mirror the driver's
parser so that `torch.cuda.device_count()` agrees with it):

- unset: every GPU; set but empty (or starting with anything that is no GPU): none;
- a comma-separated list of integer indices (each read like C's `strtoul`: leading digits,
  so `1gpu2` is 1), of `GPU-<uuid>` or of `MIG-<uuid>`; a UUID may be abbreviated to any prefix
  that names exactly one device ("GPU-8932f937");
- devices are enumerated in the order listed; an invalid entry — a negative or out-of-range
  index, a UUID that matches no device or more than one, or an entry of another kind than the
  first — ends the list: only the devices before it are visible ("0,2,-1,1" → 0 and 2);
- a device listed twice makes no device visible.

Indices are read in NVML order (PCI bus order), which is CUDA's with `CUDA_DEVICE_ORDER=PCI_BUS_ID`;
CUDA's default order puts the fastest GPU first, which is the same order on a machine whose GPUs
are all alike. UUIDs are unambiguous either way.

MIG: a board in MIG mode is not a CUDA device itself; its MIG slices are. An index or `GPU-`
UUID that names such a board stands here for every slice it has (a board in MIG mode with no
slice yields none), and `MIG-` UUIDs name one slice each. Each slice becomes its own device;
inside a trial, with one `MIG-` UUID visible, it is cuda:0, as CUDA requires (a process can use
only one MIG device).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.contract.trial import MIG_PREFIX
from bench.hardware.nvml import GpuInfo, MigSlice

GPU_PREFIX = "GPU-"
_LEADING_INT = re.compile(r"[+-]?\d+")


@dataclass(frozen=True, slots=True)
class VisibleGpu:
    """A device CUDA would see: a whole board, or one MIG slice of a board."""

    board: GpuInfo
    mig: MigSlice | None = None

    @property
    def uuid(self) -> str | None:
        return self.mig.uuid if self.mig is not None else self.board.uuid


def _devices_of(board: GpuInfo) -> list[VisibleGpu]:
    """The devices a board offers: itself, or its MIG slices in MIG mode."""
    if board.mig_enabled:
        return [VisibleGpu(board, piece) for piece in board.mig_slices]
    return [VisibleGpu(board)]


def _kind(entry: str) -> str:
    if _LEADING_INT.match(entry):
        return "index"
    for prefix in (GPU_PREFIX, MIG_PREFIX):
        if entry.startswith(prefix):
            return prefix
    return "invalid"


def _by_prefix(entry: str, candidates: list[VisibleGpu]) -> VisibleGpu | None:
    """The one candidate whose UUID starts with `entry`; None if none or several do."""
    matches = [c for c in candidates if c.uuid is not None and c.uuid.startswith(entry)]
    return matches[0] if len(matches) == 1 else None


def _lookup(entry: str, kind: str, boards: list[GpuInfo]) -> tuple[object, list[VisibleGpu]]:
    """(identity, devices) that an entry of `kind` names; identity None when it is invalid."""
    if kind == "index":
        match = _LEADING_INT.match(entry)
        n = int(match.group()) if match else -1
        board = next((b for b in boards if b.index == n), None)
        return (None, []) if board is None else (("board", n), _devices_of(board))
    if kind == GPU_PREFIX:
        found = _by_prefix(entry, [VisibleGpu(b) for b in boards])
        if found is None:
            return None, []
        return ("board", found.board.index), _devices_of(found.board)
    slices = [VisibleGpu(b, s) for b in boards if b.mig_enabled for s in b.mig_slices]
    found = _by_prefix(entry, slices)
    return (None, []) if found is None else (("mig", found.uuid), [found])


def visible_gpus(boards: list[GpuInfo], value: str | None) -> list[VisibleGpu]:
    """The devices a CUDA program would see with `CUDA_VISIBLE_DEVICES=value` (None: unset),
    in its order; `boards` is NVML's whole inventory (`Nvml.gpus()`)."""
    if value is None:
        return [d for board in boards for d in _devices_of(board)]
    entries = [e.strip() for e in value.split(",")]
    kind = _kind(entries[0])
    chosen: list[VisibleGpu] = []
    seen: set[object] = set()
    for entry in entries:
        if kind == "invalid" or _kind(entry) != kind:
            break
        identity, devices = _lookup(entry, kind, boards)
        if identity is None:  # CUDA stops enumerating at an invalid entry
            break
        if identity in seen:  # a repeated device: CUDA sees none at all
            return []
        seen.add(identity)
        chosen += devices
    return chosen
