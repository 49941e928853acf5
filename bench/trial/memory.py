"""Host memory peaks for one process: Linux VmHWM with a reset, or psutil sampling elsewhere.

On Linux, writing "5" to /proc/self/clear_refs resets the resident-set high-water mark (VmHWM in
/proc/self/status), so the peak of each epoch can be read on its own without a sampling thread
competing with the training loop. Where that is unavailable, a daemon thread samples RSS with
psutil every `interval_s` and keeps the maximum.
"""

from __future__ import annotations

import threading
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def read_vmhwm(status_text: str) -> int | None:
    """VmHWM in bytes from the text of /proc/<pid>/status, or None if absent."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            return int(value) * 1024 if unit == "kB" else int(value)
    return None


class HighWaterMark:
    """Peak RSS since the last `reset()`, from the kernel's own high-water mark."""

    source = "host_vmhwm"

    def reset(self) -> None:
        _CLEAR_REFS.write_text("5")

    def peak(self) -> int | None:
        return read_vmhwm(_STATUS.read_text())

    def close(self) -> None:
        pass

    @staticmethod
    def available() -> bool:
        try:
            _CLEAR_REFS.write_text("5")
            return read_vmhwm(_STATUS.read_text()) is not None
        except OSError:
            return False


class SampledPeak:
    """Peak RSS since the last `reset()`, by sampling in a daemon thread (non-Linux fallback)."""

    source = "host_psutil_sampled"

    def __init__(self, interval_s: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process()
        self._peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), daemon=True)
        self._thread.start()

    def _loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self._peak = max(self._peak, self._proc.memory_info().rss)

    def reset(self) -> None:
        self._peak = self._proc.memory_info().rss

    def peak(self) -> int | None:
        self._peak = max(self._peak, self._proc.memory_info().rss)
        return self._peak

    def close(self) -> None:
        self._stop.set()


def host_peak_probe() -> HighWaterMark | SampledPeak:
    """The best available per-interval RSS peak reader for this process."""
    return HighWaterMark() if HighWaterMark.available() else SampledPeak()
