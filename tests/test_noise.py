"""The noise readers against fake /proc and /sys trees (tmp_path), and once against this host.

Every reader takes its folders as arguments, so each case writes the few files a kernel would
have and checks the figure a user would read in samples.csv or trials.csv.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.trial import noise
from bench.trial.noise import CpuTimes, NoiseProbe, ProcessTree

CLK_TCK = os.sysconf("SC_CLK_TCK")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def proc_stat(rows: dict[str, tuple[int, ...]]) -> str:
    """/proc/stat text: the all-CPU line, one line per CPU, and the lines that follow."""
    lines = [f"{name} {' '.join(map(str, values))}" for name, values in rows.items()]
    return "\n".join([*lines, "intr 12345 0 0", "ctxt 999", "btime 1700000000"]) + "\n"


# user nice system idle iowait irq softirq steal guest guest_nice
BEFORE = {
    "cpu": (1000, 10, 200, 5000, 50, 5, 5, 30, 100, 0),
    "cpu0": (600, 10, 100, 2000, 20, 3, 2, 10, 100, 0),
    "cpu1": (400, 0, 100, 3000, 30, 2, 3, 20, 0, 0),
}
AFTER = {
    "cpu": (1100, 10, 250, 5100, 50, 5, 5, 80, 140, 0),
    "cpu0": (650, 10, 120, 2080, 20, 3, 2, 15, 140, 0),
    "cpu1": (450, 0, 130, 3020, 30, 2, 3, 65, 0, 0),
}


def test_cpu_times_sum_the_counted_fields(tmp_path: Path) -> None:
    write(tmp_path / "stat", proc_stat(BEFORE))
    # guest (already inside user) is not counted again
    assert noise.read_cpu_times(None, tmp_path) == CpuTimes(1220, 30, 6300)
    assert noise.read_cpu_times([1], tmp_path) == CpuTimes(505, 20, 3555)
    assert noise.read_cpu_times([0, 1], tmp_path) == CpuTimes(1220, 30, 6300)
    assert noise.read_cpu_times([7], tmp_path) is None  # a CPU the file does not list
    assert noise.read_cpu_times(None, tmp_path / "missing") is None


def test_steal_is_a_share_of_every_jiffy_between_two_readings(tmp_path: Path) -> None:
    write(tmp_path / "a" / "stat", proc_stat(BEFORE))
    write(tmp_path / "b" / "stat", proc_stat(AFTER))
    a, b = (noise.read_cpu_times(None, tmp_path / d) for d in "ab")
    # all CPUs: 50 steal jiffies of 100 + 50 + 100 + 50 = 300 counted
    assert noise.steal_pct(a, b) == pytest.approx(100 * 50 / 300, abs=1e-3)
    a1, b1 = (noise.read_cpu_times([1], tmp_path / d) for d in "ab")
    # CPU 1 only: 45 steal of 50 + 30 + 20 + 45 = 145
    assert noise.steal_pct(a1, b1) == pytest.approx(100 * 45 / 145, abs=1e-3)
    assert noise.steal_pct(a, a) is None and noise.steal_pct(None, b) is None


def test_a_kernel_without_steal_reads_as_no_steal(tmp_path: Path) -> None:
    write(tmp_path / "stat", "cpu 100 0 50 1000 0 0 0\ncpu0 100 0 50 1000 0 0 0\n")
    assert noise.read_cpu_times(None, tmp_path) == CpuTimes(150, 0, 1150)


def sys_cpu(root: Path, cpu: int, **files: str) -> None:
    for name, text in files.items():
        write(root / f"cpu{cpu}" / name.replace("__", "/"), text + "\n")


def test_frequency_is_the_fastest_readable_cpu_in_mhz(tmp_path: Path) -> None:
    sys_cpu(tmp_path, 0, cpufreq__scaling_cur_freq="1200000", cpufreq__scaling_governor="powersave")
    sys_cpu(tmp_path, 1, cpufreq__scaling_cur_freq="3400000", cpufreq__scaling_governor="powersave")
    sys_cpu(tmp_path, 2, cpufreq__scaling_cur_freq="garbage")
    assert noise.read_freq_mhz([0, 1, 2], tmp_path) == 3400.0
    assert noise.read_freq_mhz([0], tmp_path) == 1200.0
    assert noise.read_freq_mhz([5], tmp_path) is None  # no cpufreq: empty, never 0
    assert noise.read_governor([0, 1], tmp_path) == "powersave"
    sys_cpu(tmp_path, 1, cpufreq__scaling_governor="performance")
    assert noise.read_governor([0, 1, 5], tmp_path) == "performance+powersave"
    assert noise.read_governor([5], tmp_path) == ""


def test_throttle_count_adds_cores_and_each_package_once(tmp_path: Path) -> None:
    for cpu, core, package, pkg_id in (
        (0, "3", "10", "0"),
        (1, "4", "10", "0"),
        (2, "1", "7", "1"),
    ):
        sys_cpu(
            tmp_path,
            cpu,
            thermal_throttle__core_throttle_count=core,
            thermal_throttle__package_throttle_count=package,
            topology__physical_package_id=pkg_id,
        )
    assert noise.read_throttle_count([0, 1, 2], tmp_path) == 3 + 4 + 1 + 10 + 7
    assert noise.read_throttle_count([0], tmp_path) == 13
    assert noise.read_throttle_count([9], tmp_path) is None


def test_snapshot_reads_load_governor_and_throttle(tmp_path: Path) -> None:
    proc, sys = tmp_path / "proc", tmp_path / "sys"
    write(proc / "loadavg", "1.52 0.80 0.40 2/300 12345\n")
    sys_cpu(
        sys, 0, cpufreq__scaling_governor="schedutil", thermal_throttle__core_throttle_count="2"
    )
    assert noise.snapshot([0], proc, sys) == {
        "load_avg_1m": 1.52,
        "cpu_governor": "schedutil",
        "cpu_throttle_count": 2,
    }
    write(proc / "loadavg", "not a number\n")
    assert noise.snapshot([3], proc, sys) == {
        "load_avg_1m": None,
        "cpu_governor": "",
        "cpu_throttle_count": None,
    }


def proc_pid_stat(pid: int, name: str, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime ...
    return f"{pid} ({name}) S 1 1 1 0 -1 0 0 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0\n"


def fake_tree(
    proc: Path, times: dict[int, tuple[int, int, int, int]], kids: dict[int, list]
) -> None:
    for pid, (u, s, cu, cs) in times.items():
        write(proc / str(pid) / "stat", proc_pid_stat(pid, "py thon (x)", u, s, cu, cs))
        write(
            proc / str(pid) / "task" / str(pid) / "children", " ".join(map(str, kids.get(pid, [])))
        )


def test_process_tree_adds_live_descendants(tmp_path: Path) -> None:
    fake_tree(
        tmp_path, {10: (100, 20, 5, 1), 11: (30, 3, 0, 0), 12: (7, 1, 0, 0)}, {10: [11], 11: [12]}
    )
    tree = ProcessTree(10, tmp_path, rescan_s=60.0, clock=lambda: 0.0)
    assert tree.jiffies() == 126 + 33 + 8
    assert sorted(tree.descendants) == [11, 12]
    # worker 12 ends and is reaped by 11: its time moves into 11's cutime, nothing is lost
    (tmp_path / "12" / "stat").unlink()
    write(tmp_path / "11" / "stat", proc_pid_stat(11, "w", 30, 3, 7, 1))
    assert tree.jiffies() == 126 + 41
    assert tree.descendants == [11]
    (tmp_path / "10" / "stat").unlink()
    assert tree.jiffies() is None


def test_probe_takes_steal_and_other_processes_share(tmp_path: Path) -> None:
    proc, sys = tmp_path / "proc", tmp_path / "sys"
    write(proc / "loadavg", "2.50 1.0 0.5 3/200 1\n")
    write(proc / "stat", proc_stat(BEFORE))
    fake_tree(proc, {10: (0, 0, 0, 0)}, {})
    sys_cpu(sys, 0, cpufreq__scaling_cur_freq="2000000")
    now = [100.0]
    probe = NoiseProbe(10, cpus=[0, 1], proc=proc, sys_cpu=sys, clock=lambda: now[0])
    assert probe.take() == (2.5, None, None, 2000.0)  # shares need a previous reading
    write(proc / "stat", proc_stat(AFTER))
    fake_tree(proc, {10: (90, 10, 0, 0)}, {})  # the trial itself used 100 of 120 busy jiffies
    now[0] += 2.0
    load, steal, other, freq = probe.take()
    assert (load, freq) == (2.5, 2000.0)
    assert steal == pytest.approx(100 * 50 / 300, abs=1e-3)
    assert other == pytest.approx(round(100 * (150 - 100) / CLK_TCK / 2.0, 1))


def test_probe_on_this_host_gives_numbers_or_empty_cells() -> None:
    probe = NoiseProbe()
    load, steal, other, freq = probe.take()
    assert steal is None and other is None
    time.sleep(0.1)  # ten clock ticks at 100 Hz: the shares need jiffies to pass
    load, steal, other, freq = probe.take()
    for value in (load, steal, other, freq):
        assert value is None or (isinstance(value, float) and value >= 0)
    if Path("/proc/stat").exists():
        assert isinstance(steal, float) and isinstance(other, float)
