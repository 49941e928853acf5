"""What disturbs a trial's timing, read from /proc and /sys: the narrow seam is two folders.

Every reader takes the `/proc` and `/sys/devices/system/cpu` folders as arguments (tests point
them at a fake tree) and returns None — an empty cell — where the kernel offers nothing
readable; never zero. "The CPUs" below are the ones this process may run on
(`os.sched_getaffinity`: a cpuset or `taskset` narrows them), so a busy core elsewhere on a big
machine does not count.

- `load_avg_1m`: the first field of /proc/loadavg (what `os.getloadavg()` returns): runnable
  and uninterruptible tasks, averaged over about a minute — so for a minute after a trial it
  still holds that trial's own work.
- `cpu_steal_pct`: /proc/stat's `steal` jiffies over every jiffy (user, nice, system, idle,
  iowait, irq, softirq, steal; guest time is already inside user and nice) between two
  readings, summed over the CPUs: the share of the CPUs' time a hypervisor gave to another
  guest. Zero on bare metal; the tell-tale of a busy virtual machine host.
- `other_cpu_pct`: CPU time used on the CPUs by everything except this trial's process tree,
  in % of one core (200 = two busy cores): /proc/stat's busy jiffies (user, nice, system, irq,
  softirq) minus the tree's (`ProcessTree`), over the wall time between two readings, floored
  at 0. Interrupt time is counted as "other" even when this trial's own I/O caused it. The
  kernel counts both in clock ticks (`SC_CLK_TCK`, usually 100 per second), so one reading
  over 0.2 s is good to about ±10 % of a core; a trial's mean over many ticks is much better.
- `cpu_freq_mhz`: the highest `cpufreq/scaling_cur_freq` among the first FREQ_CPUS of the
  CPUs (idle cores clock down; the busiest core is usually the fastest). Empty where the
  kernel has no cpufreq driver — most virtual machines and many containers.
- `cpu_governor`: the `cpufreq/scaling_governor` values of the CPUs, distinct ones joined
  by `+` (e.g. `powersave`); empty without cpufreq.
- `cpu_throttle_count`: thermal throttling events, `thermal_throttle/core_throttle_count`
  summed over the CPUs plus `package_throttle_count` once per physical package (Intel, x86
  `therm_throt`); empty where absent. A trial records the increase over its run.

GPU throttling is not here: the sampler reads NVML's clock-event reasons (`Nvml.sample`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.trial.proctree import ProcessTree, read_small

PROC = Path("/proc")
SYS_CPU = Path("/sys/devices/system/cpu")
FREQ_CPUS = 64  # frequency files read per tick, at most
_BUSY = (0, 1, 2, 5, 6)  # user nice system . . irq softirq: /proc/stat field positions
_STEAL = 7
_COUNTED = 8  # user … steal; guest and guest_nice are already inside user and nice


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Jiffies from /proc/stat, summed over some CPUs: busy, steal and every counted jiffy."""

    busy: int
    steal: int
    total: int


def allowed_cpus() -> list[int] | None:
    """The CPUs this process may run on, or None where the OS cannot say."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def read_cpu_times(cpus: Sequence[int] | None, proc: Path = PROC) -> CpuTimes | None:
    """/proc/stat's jiffies summed over `cpus` (its `cpuN` lines), or its all-CPU `cpu` line
    where `cpus` is None; None when unreadable or when none of the CPUs is listed."""
    text = read_small(proc / "stat")
    if text is None:
        return None
    wanted = None if cpus is None else {f"cpu{n}" for n in cpus}
    busy = steal = total = 0
    found = False
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or (name != "cpu" if wanted is None else name not in wanted):
            continue
        try:
            fields = [int(v) for v in rest.split()[:_COUNTED]]
        except ValueError:
            return None
        fields += [0] * (_COUNTED - len(fields))  # kernels before 2.6.11 have no steal field
        busy += sum(fields[i] for i in _BUSY)
        steal += fields[_STEAL]
        total += sum(fields)
        found = True
    return CpuTimes(busy, steal, total) if found else None


def steal_pct(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """Steal jiffies as a share of every jiffy between two readings, in %."""
    if before is None or after is None or after.total <= before.total:
        return None
    return round(100.0 * (after.steal - before.steal) / (after.total - before.total), 3)


def read_load_avg(proc: Path = PROC) -> float | None:
    """The 1-minute load average (/proc/loadavg; `os.getloadavg` where there is no /proc)."""
    text = read_small(proc / "loadavg")
    if text is not None:
        with contextlib.suppress(ValueError, IndexError):
            return float(text.split()[0])
        return None
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def _cpu_file(sys_cpu: Path, cpu: int, name: str) -> str | None:
    text = read_small(sys_cpu / f"cpu{cpu}" / name)
    return None if text is None else text.strip()


def read_freq_mhz(cpus: Sequence[int], sys_cpu: Path = SYS_CPU) -> float | None:
    """The highest current frequency (MHz) among the first FREQ_CPUS of `cpus`."""
    values = []
    for cpu in cpus[:FREQ_CPUS]:
        text = _cpu_file(sys_cpu, cpu, "cpufreq/scaling_cur_freq")
        if text is not None and text.isdigit():
            values.append(int(text) / 1000.0)  # the kernel gives kHz
    return round(max(values), 1) if values else None


def read_governor(cpus: Sequence[int], sys_cpu: Path = SYS_CPU) -> str:
    """The CPUs' scaling governors, distinct ones sorted and joined by '+'; '' if none."""
    found = {_cpu_file(sys_cpu, cpu, "cpufreq/scaling_governor") for cpu in cpus}
    return "+".join(sorted(g for g in found if g))


def read_throttle_count(cpus: Sequence[int], sys_cpu: Path = SYS_CPU) -> int | None:
    """Thermal throttling events so far: core counts of `cpus` plus each package's count once."""
    total, found = 0, False
    packages: dict[str, int] = {}
    for cpu in cpus:
        core = _cpu_file(sys_cpu, cpu, "thermal_throttle/core_throttle_count")
        if core is not None and core.isdigit():
            total, found = total + int(core), True
        package = _cpu_file(sys_cpu, cpu, "thermal_throttle/package_throttle_count")
        if package is not None and package.isdigit():
            key = _cpu_file(sys_cpu, cpu, "topology/physical_package_id") or f"cpu{cpu}"
            packages[key] = int(package)
            found = True
    return total + sum(packages.values()) if found else None


def snapshot(
    cpus: Sequence[int] | None = None, proc: Path = PROC, sys_cpu: Path = SYS_CPU
) -> dict[str, object]:
    """What the parent records just before a trial and right after it: load average,
    governor, thermal throttle count (see the module docstring)."""
    cpus = allowed_cpus() if cpus is None else cpus
    return {
        "load_avg_1m": read_load_avg(proc),
        "cpu_governor": read_governor(cpus or [], sys_cpu),
        "cpu_throttle_count": read_throttle_count(cpus or [], sys_cpu),
    }


class NoiseProbe:
    """The sampler's per-tick noise readings: `take()` → (load_avg_1m, cpu_steal_pct,
    other_cpu_pct, cpu_freq_mhz). The two shares cover the time since the previous call, so
    the first call has them None."""

    def __init__(
        self,
        pid: int | None = None,
        *,
        cpus: Sequence[int] | None = None,
        proc: Path = PROC,
        sys_cpu: Path = SYS_CPU,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cpus = allowed_cpus() if cpus is None else list(cpus)
        # only CPUs with a cpufreq folder (none on most VMs and containers) are read each tick
        self._freq_cpus = [c for c in self._cpus or [] if (sys_cpu / f"cpu{c}/cpufreq").is_dir()]
        self._proc = proc
        self._sys_cpu = sys_cpu
        self._clock = clock
        self._tree = ProcessTree(os.getpid() if pid is None else pid, proc, clock=clock)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last: tuple[float, CpuTimes | None, int | None] | None = None

    def take(self) -> tuple[float | None, float | None, float | None, float | None]:
        now = self._clock()
        times = read_cpu_times(self._cpus, self._proc)
        tree = self._tree.jiffies()
        steal = other = None
        if self._last is not None:
            then, times_then, tree_then = self._last
            steal = steal_pct(times_then, times)
            other = self._other_pct(now - then, times_then, times, tree_then, tree)
        self._last = (now, times, tree)
        freq = read_freq_mhz(self._freq_cpus, self._sys_cpu) if self._freq_cpus else None
        return read_load_avg(self._proc), steal, other, freq

    def _other_pct(
        self,
        seconds: float,
        before: CpuTimes | None,
        after: CpuTimes | None,
        tree_before: int | None,
        tree_after: int | None,
    ) -> float | None:
        if before is None or after is None or tree_before is None or tree_after is None:
            return None
        if seconds <= 0:
            return None
        others = (after.busy - before.busy) - (tree_after - tree_before)
        return round(max(0.0, 100.0 * others / self._tick / seconds), 1)
