"""Where torch runs, for the torch runner and for Keras on torch: device, placement, sync, memory.

`torch_device` first asks `bench.hardware.placement.torch_device_error` whether this torch can use
the trial's device kind at all (a CPU-only wheel, a CUDA build that sees no GPU, a driver
problem, no MPS), then creates a tensor there — the CUDA context now, not in step 1 — and
checks its `.device.type`: the trial fails with `PlacementError` rather than train elsewhere.
ROCm builds (`torch.version.hip` set) drive AMD GPUs through torch's `cuda` device type, so a
CUDA trial accepts them; `device_settings` records `torch.version.hip`.

Sync: `torch.cuda.synchronize()` on CUDA, `torch.mps.synchronize()` on MPS (both wait for every
queued kernel), nothing on the CPU. Memory: on CUDA the caching allocator's peaks, reset per
epoch (`reset_peak_memory_stats`). MPS keeps no peak and has no reset — `torch.mps` offers only
`current_allocated_memory()` (live tensors) and `driver_allocated_memory()` (all Metal memory of
the process, pools included) — so its probes report the larger of the readings at the epoch's
start and end, named `..._at_bounds`: a lower bound of the epoch's peak, said as such.

Steps (`step_timer`): on CUDA (and MPS where torch has events) each step's wall time is the
device's own, between events recorded after each step; on the CPU the clock's host timestamps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.hardware.placement import (
    placement_error,
    require,
    torch_device_error,
    torch_tensor_kind,
)
from bench.runners.base import no_sync


def torch_device(torch: Any, kind: str, asked: str) -> Any:
    """The `torch.device` for a trial's device kind, proven usable; raises `PlacementError`."""
    require(torch_device_error(torch, kind, asked))
    # The parent exposes exactly one GPU to a CUDA trial (CUDA_VISIBLE_DEVICES), so it is 0.
    device = torch.device({"cuda": "cuda:0", "mps": "mps"}.get(kind, "cpu"))
    if kind == "cuda":
        torch.cuda.set_device(device)
    probe = torch.zeros(1, device=device)  # creates the device context now, not in step 1
    require(placement_error(torch_tensor_kind(probe), kind, asked, "torch's first tensor"))
    return device


def pick_sync(device_kind: str, torch: Any) -> Callable[[], None]:
    """The synchronize function for a device type: the GPU's queue is waited for; CPU needs
    nothing."""
    if device_kind == "cuda":
        return torch.cuda.synchronize
    if device_kind == "mps":
        return torch.mps.synchronize
    return no_sync


class CudaPeak:
    """Per-epoch peak of one of PyTorch's CUDA caching-allocator counters."""

    def __init__(self, torch: Any, device: Any, counter: str) -> None:
        self._torch, self._device, self._counter = torch, device, counter
        self.source = f"torch_{counter}"

    def reset(self) -> None:
        self._torch.cuda.reset_peak_memory_stats(self._device)

    def peak(self) -> int:
        return int(getattr(self._torch.cuda, self._counter)(self._device))


def cuda_peaks(torch: Any, device: Any) -> list[CudaPeak]:
    """Allocated (tensors alive) first, then reserved (what the caching allocator holds)."""
    return [CudaPeak(torch, device, c) for c in ("max_memory_allocated", "max_memory_reserved")]


class MpsAtBounds:
    """The larger of an MPS memory reading at the epoch's start (`reset`) and end (`peak`)."""

    def __init__(self, torch: Any, reading: str) -> None:
        self._read = getattr(torch.mps, reading)
        self.source = f"torch_mps_{reading}_at_bounds"
        self._start = 0

    def reset(self) -> None:
        self._start = int(self._read())

    def peak(self) -> int:
        return max(self._start, int(self._read()))


def device_peaks(torch: Any, kind: str, device: Any) -> list[Any]:
    """The device-memory probes of a trial's device kind, primary first ([] on the CPU)."""
    if kind == "cuda":
        return cuda_peaks(torch, device)
    if kind == "mps":
        readings = ("current_allocated_memory", "driver_allocated_memory")
        return [MpsAtBounds(torch, r) for r in readings]
    return []


class DeviceSteps:
    """steps.csv's timer on the device's own clock: an event recorded on the current stream at
    the epoch's start and after each step — no synchronization, as a bare loop has none — and
    the times between them read at the epoch's end, after the clock's sync. Events are kept
    and reused epoch after epoch (creating one per step would cost more than recording it)."""

    def __init__(self, event: Callable[..., Any]) -> None:
        self._event = event
        self._events: list[Any] = []
        self._n = 0

    def _mark(self) -> None:
        if self._n == len(self._events):
            self._events.append(self._event(enable_timing=True))
        self._events[self._n].record()
        self._n += 1

    def begin(self, now: float) -> None:
        self._n = 0
        self._mark()

    def step(self) -> None:
        self._mark()

    def walls(self, now: float, steps: int) -> list[float]:
        marked = self._events[: min(self._n, steps + 1)]
        pairs = zip(marked, marked[1:], strict=False)
        return [round(a.elapsed_time(b) / 1000, 9) for a, b in pairs]


def step_timer(torch: Any, kind: str) -> DeviceSteps | None:
    """Device events for a CUDA (or ROCm) GPU, and MPS where this torch has `torch.mps.Event`;
    None elsewhere: the clock's host timestamps (a CPU step has ended when its call returns)."""
    if kind == "cuda":
        return DeviceSteps(torch.cuda.Event)
    event = getattr(getattr(torch, "mps", None), "Event", None) if kind == "mps" else None
    return DeviceSteps(event) if event is not None else None


def device_settings(torch: Any, kind: str, device: Any) -> dict[str, Any]:
    """What the device is: GPU name, CUDA/ROCm and cuDNN versions; the MPS device's name."""
    if kind == "cuda":
        values = {
            "cuda.device_name": torch.cuda.get_device_name(device),
            "cuda.runtime_version": torch.version.cuda,
            "cudnn.version": torch.backends.cudnn.version(),
        }
        hip = getattr(torch.version, "hip", None)
        return values | ({"torch.version.hip": hip} if hip else {})
    if kind == "mps":
        get_name = getattr(torch.backends.mps, "get_name", None)
        return {"mps.device_name": get_name() if get_name is not None else "mps"}
    return {}
