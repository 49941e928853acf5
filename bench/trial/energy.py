"""Energy over an interval: CPU packages from RAPL (Linux powercap), GPUs from NVML's counter.

`RaplReader` sums the package domains under `/sys/class/powercap`: the top-level
`intel-rapl:N` zones whose `name` starts with "package" (AMD Zen CPUs appear there too, through
the same `intel_rapl` driver; `intel-rapl-mmio:N` duplicates package 0 and is not read). Each
`energy_uj` is a microjoule counter that wraps after `max_energy_range_uj`; one wrap between two
reads is undone, so reads must come closer together than a wrap takes (range / package power,
typically tens of minutes): `poll()` from the sampler thread keeps long epochs safe. Since
Linux 5.10 `energy_uj` is readable only by root, so on most machines RAPL is simply unavailable.
RAPL measures the whole socket: other processes' work is included.

`NvmlEnergy` reads `nvmlDeviceGetTotalEnergyConsumption` (millijoules since the driver loaded,
Volta and newer; a 64-bit counter that does not wrap in practice). NVML refreshes it every
20-100 ms, so intervals much shorter than that are imprecise. The counter belongs to a board: on a
MIG slice it counts the whole board, every slice's work included, and the source is named
`nvml-board` instead of `nvml` (epochs.csv's `energy_source`) so that nobody reads it as the
slice's own. A process that drives several GPUs (a Keras data-parallel trial) is metered over
all of them: the counters of their distinct boards, summed — each board once, however many of
its MIG slices the process has — as a torch data-parallel trial sums its ranks' GPUs.

`EnergyMeter` combines them: `begin()` … `end()` gives joules, or `None` — never 0 — when
nothing could be measured. Readers are cheap (a few sysfs reads, one NVML call) but are best
called outside timed intervals, like the memory probes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bench.hardware.nvml import Nvml
from bench.trial.gpu_set import GpuKeys, gpu_list

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True, slots=True)
class RaplDomain:
    """One RAPL package zone: its name, counter file and wrap range (None if unreadable)."""

    name: str
    energy_path: Path
    max_range_uj: int | None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):  # PermissionError is an OSError
        return None


def package_domains(root: Path = POWERCAP) -> list[RaplDomain]:
    """The package zones under `root` (`intel-rapl:N` with a `name` starting "package")."""
    found = []
    for zone in sorted(root.glob("intel-rapl:*")):
        try:
            name = (zone / "name").read_text().strip()
        except OSError:
            continue
        if name.startswith("package"):
            max_range = _read_int(zone / "max_energy_range_uj")
            found.append(RaplDomain(name, zone / "energy_uj", max_range))
    return found


class RaplReader:
    """Joules used by all CPU packages since `start()`, from the RAPL counters."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.domains = package_domains(root)
        self._lock = threading.Lock()
        self._last: list[int] | None = None
        self._total_uj = 0
        self._valid = False

    def _counters(self) -> list[int] | None:
        values = [_read_int(d.energy_path) for d in self.domains]
        if not values or any(v is None for v in values):
            return None
        return [int(v) for v in values if v is not None]

    def available(self) -> bool:
        """True if every package counter can be read now (permission denied is common)."""
        return self._counters() is not None

    def start(self) -> None:
        """Begin a new interval."""
        with self._lock:
            self._last = self._counters()
            self._total_uj = 0
            self._valid = self._last is not None

    def poll(self) -> None:
        """Fold the energy since the last read into the total (catches counter wraps)."""
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        if not self._valid or self._last is None:
            return
        now = self._counters()
        if now is None:
            self._valid = False
            return
        for domain, before, after in zip(self.domains, self._last, now, strict=True):
            delta = after - before
            if delta < 0:  # wrapped once
                if domain.max_range_uj is None:
                    self._valid = False
                    return
                delta += domain.max_range_uj
            self._total_uj += delta
        self._last = now

    def read(self) -> float | None:
        """Joules since `start()`, or None if not started or a counter could not be read."""
        with self._lock:
            self._advance()
            return self._total_uj / 1e6 if self._valid else None


class NvmlEnergy:
    """Joules used since `start()` by the boards of the GPUs `gpus` (UUIDs or NVML indices: one,
    or all of a one-process data-parallel trial's), from NVML's total-energy counters, summed
    over the distinct boards (`Nvml.one_per_board`: two MIG slices of one board count it once);
    `source` is `nvml-board` when a counter is a MIG slice's whole board."""

    def __init__(self, nvml: Nvml, gpus: GpuKeys) -> None:
        keys = gpu_list(gpus)
        self._nvml = nvml
        self._boards = nvml.one_per_board(keys)
        self._start_mj: list[int] | None = None
        self.source = "nvml-board" if any(nvml.board_level(g) for g in keys) else "nvml"

    def _counters(self) -> list[int] | None:
        """Every board's counter now; None if there is none or one cannot be read."""
        values = [self._nvml.total_energy_mj(board) for board in self._boards]
        if not values or any(v is None for v in values):
            return None
        return [int(v) for v in values if v is not None]

    def available(self) -> bool:
        """True if every board reports its energy counter (Volta and newer, recent drivers)."""
        return self._counters() is not None

    def start(self) -> None:
        self._start_mj = self._counters()

    def read(self) -> float | None:
        """Joules since `start()` over every board; None if a reading failed or a counter went
        back (a driver reload resets it): a sum with a board missing would be too low."""
        if self._start_mj is None:
            return None
        now = self._counters()
        if now is None or any(a < b for a, b in zip(now, self._start_mj, strict=True)):
            return None
        return sum(a - b for a, b in zip(now, self._start_mj, strict=True)) / 1000.0


@dataclass(frozen=True, slots=True)
class EnergyReading:
    """Energy over one interval by source; None where that source was not measurable."""

    cpu_j: float | None
    gpu_j: float | None

    @property
    def total_j(self) -> float | None:
        parts = [p for p in (self.cpu_j, self.gpu_j) if p is not None]
        return sum(parts) if parts else None


class EnergyMeter:
    """CPU package (RAPL) plus GPU (NVML) energy between `begin()` and `end()`."""

    def __init__(self, rapl: RaplReader | None = None, gpu: NvmlEnergy | None = None) -> None:
        self.rapl = rapl
        self.gpu = gpu

    @classmethod
    def detect(
        cls, nvml: Nvml | None = None, gpu: GpuKeys | None = None, root: Path = POWERCAP
    ) -> EnergyMeter:
        """A meter with every source readable here (possibly none: `end()` is then None); `gpu`
        is the trial's GPU, or every GPU of a one-process data-parallel trial."""
        rapl = RaplReader(root)
        meter = NvmlEnergy(nvml, gpu) if nvml is not None and gpu_list(gpu) else None
        return cls(
            rapl if rapl.available() else None,
            meter if meter is not None and meter.available() else None,
        )

    @property
    def sources(self) -> str:
        """Which sources are read, e.g. "rapl+nvml" ("nvml-board" on a MIG slice); "" when none."""
        names = ["rapl"] if self.rapl is not None else []
        return "+".join(names + ([self.gpu.source] if self.gpu is not None else []))

    def begin(self) -> None:
        for reader in (self.rapl, self.gpu):
            if reader is not None:
                reader.start()

    def poll(self) -> None:
        """Fold RAPL counters forward (call every few seconds or so on long intervals)."""
        if self.rapl is not None:
            self.rapl.poll()

    def reading(self) -> EnergyReading:
        """Energy since `begin()` by source."""
        return EnergyReading(
            cpu_j=self.rapl.read() if self.rapl is not None else None,
            gpu_j=self.gpu.read() if self.gpu is not None else None,
        )

    def end(self) -> float | None:
        """Total joules since `begin()` (CPU packages + GPU), or None if nothing was measured."""
        return self.reading().total_j
