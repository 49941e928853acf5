"""Background resource sampler for a trial's child process: host RSS and CPU %, and GPU readings.

`Sampler` runs a daemon thread that, every `interval_s` (default 0.2 s), records one row:

    t_s                       seconds since `origin` on the caller's clock (pass the parent's
                              spawn time so rows line up with phases.csv's `start_s`)
    rss_bytes, cpu_percent    psutil, for the whole process (all threads; can exceed 100)
    gpu_*                     `Nvml.sample(gpu)` and `Nvml.process_memory_bytes(gpu, pid)`
                              (empty unless an `Nvml` and a GPU are given)
    load_avg_1m, cpu_steal_pct, other_cpu_pct, cpu_freq_mhz
                              `bench.trial.noise.NoiseProbe`: what else competes for the CPUs
                              (the two shares since the row before; empty on the first row)

Rows are the columns of samples.csv minus `run_id` / `trial_id` (`SAMPLE_COLUMNS`). They are kept
in memory as tuples and handed out as dicts by `drain()` (call it where the trial already writes
results, outside timed intervals — never write files from the sampler thread) and by `stop()`
(= `halt()`, which ends the thread and takes a last row, then `drain()`).

CPU %: psutil's non-blocking `Process.cpu_percent()` compares against the previous call and
returns a meaningless 0.0 the first time; `start()` primes it, so the first row (taken at
`start()`) has `cpu_percent = None` and every later row covers the interval since the row before.

GPU: NVML ignores `CUDA_VISIBLE_DEVICES`, so the sampler is given the trial's GPU as NVML knows
it — its UUID (`Trial.gpu_keys`; the NVML index only where NVML gave no UUID) — never the CUDA
ordinal 0 the child sees; a Keras data-parallel trial's process gets all of its GPUs, and each
row then combines their readings (`bench.trial.gpu_set`). On a MIG slice, memory and process
memory are the slice's own, and utilisation, power, clock, temperature and throttle reasons are
the whole board's (trials.csv's `gpu_readings` says `board`). NVML per-process memory matches on
the PID the driver reports; inside a container with its own PID namespace that may not be
`os.getpid()`, and the column is then empty.

Overhead: each tick is two small /proc reads for this process (statm, stat), the noise probe's
reads (/proc/loadavg, /proc/stat, /proc/<pid>/stat of this process and of each live
descendant, and one cpufreq file per CPU, at most 64; every 2 s a walk of the process tree's
`task/*/children` files) and, on GPUs, about seven NVML calls per GPU (ctypes releases the GIL
while the driver works). Measured on the 2-CPU development VM under load (no cpufreq, no children):
about 95 µs per tick, of which the noise probe is about 50 µs — under 0.05 % of a 0.2 s
interval, most of it the kernel writing /proc text while the GIL is released (`os.read`); a
host with cpufreq adds one small sysfs read per CPU (at most 64, a few µs each). It allocates a
few tuples and the one dict `Nvml.sample` returns. Ticks are scheduled on a fixed grid; a late
tick is not made up with a burst. `on_tick` (e.g. `EnergyMeter.poll`, to catch RAPL counter
wraps on long epochs) runs on the sampler thread after each row and must be as cheap.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from bench.hardware.nvml import Nvml
from bench.trial.gpu_set import GpuKeys, gpu_list, several_gpus
from bench.trial.noise import NoiseProbe

DEFAULT_INTERVAL_S = 0.2
SAMPLE_COLUMNS = (
    "t_s",
    "rss_bytes",
    "cpu_percent",
    "gpu_util_pct",
    "gpu_memory_used_bytes",
    "gpu_process_memory_bytes",
    "gpu_power_w",
    "gpu_sm_clock_mhz",
    "gpu_temperature_c",
    "gpu_throttle_reasons",
    "load_avg_1m",
    "cpu_steal_pct",
    "other_cpu_pct",
    "cpu_freq_mhz",
)
_NO_GPU = (None,) * 7
_JOIN_GRACE_S = 2.0

Row = tuple[Any, ...]


class Sampler:
    """Samples this process (and its GPU) every `interval_s` on a daemon thread."""

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        nvml: Nvml | None = None,
        gpu: GpuKeys | None = None,
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        origin: float = 0.0,
        *,
        on_tick: Callable[[], object] | None = None,
        noise: NoiseProbe | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self.interval_s = float(interval_s)
        self._pid = os.getpid() if pid is None else pid
        self._proc = psutil.Process(self._pid)
        self._keys = gpu_list(gpu)
        self._gpu = nvml is not None and bool(self._keys)
        self._nvml = nvml
        self._boards = nvml.one_per_board(self._keys) if nvml is not None else []
        self._clock = clock
        self._origin = origin
        self._on_tick = on_tick
        self._noise = NoiseProbe(self._pid) if noise is None else noise
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None  # the first exception a tick raised, for the trial's log

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt()  # the rows stay for `drain()`

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Prime CPU %, record the first row now, and start the sampling thread."""
        if self._thread is not None:
            raise RuntimeError("a Sampler can be started only once")
        with contextlib.suppress(psutil.Error):
            self._proc.cpu_percent(None)  # the first non-blocking call only sets the baseline
        self._record(cpu=False)
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Stop the thread and record a last row; safe to call more than once."""
        if self._thread is not None and not self._stopping.is_set():
            self._stopping.set()
            self._thread.join(self.interval_s + _JOIN_GRACE_S)
            self._record(cpu=True)

    def stop(self) -> list[dict[str, Any]]:
        """`halt()`, then return every row not yet drained."""
        self.halt()
        return self.drain()

    def drain(self) -> list[dict[str, Any]]:
        """The rows recorded since the last drain, oldest first, as dicts keyed by column."""
        with self._lock:
            rows, self._rows = self._rows, []
        return [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in rows]

    def _loop(self) -> None:
        interval = self.interval_s
        due = time.monotonic() + interval
        while not self._stopping.wait(max(0.0, due - time.monotonic())):
            self._record(cpu=True)
            if self._on_tick is not None:
                self._guarded(self._on_tick)
            due += interval
            now = time.monotonic()
            if due <= now:  # fell behind (a long GIL hold, a suspended process): skip, no burst
                due = now + interval

    def _record(self, cpu: bool) -> None:
        row = self._guarded(lambda: self.take(cpu))
        if row is not None:
            with self._lock:
                self._rows.append(row)

    def _guarded(self, fn: Callable[[], Any]) -> Any:
        """Run one tick's work; an unexpected error is kept once and never kills the thread."""
        try:
            return fn()
        except Exception as exc:
            if self.error is None:
                self.error = f"{type(exc).__name__}: {exc}"
            return None

    def take(self, cpu: bool = True) -> Row:
        """One reading as a tuple in `SAMPLE_COLUMNS` order (the thread calls this each tick)."""
        t_s = round(self._clock() - self._origin, 6)
        try:
            rss: int | None = self._proc.memory_info().rss
            cpu_pct: float | None = self._proc.cpu_percent(None) if cpu else None
        except psutil.Error:
            rss = cpu_pct = None
        noise = self._noise.take()
        if not self._gpu:
            return (t_s, rss, cpu_pct, *_NO_GPU, *noise)
        assert self._nvml is not None
        gpu = several_gpus(self._nvml, self._keys, self._boards, self._pid)
        return (
            t_s,
            rss,
            cpu_pct,
            gpu["utilization_gpu_pct"],
            gpu["memory_used_bytes"],
            gpu["process_memory_bytes"],
            gpu["power_w"],
            gpu["sm_clock_mhz"],
            gpu["temperature_c"],
            gpu["throttle_reasons"],
            *noise,
        )
