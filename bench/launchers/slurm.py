"""From a `[launcher]` table to submitit's executor, and the checks before anything is submitted.

`slurm_parameters` is the whole mapping (pure; the unit tests check it), in the names of
submitit's `AutoExecutor.update_parameters`: the shared ones (`timeout_min`, `gpus_per_node`,
`cpus_per_task`, `mem_gb`, `nodes`, `tasks_per_node`, `name`) and Slurm's own with the `slurm_`
prefix (`slurm_partition`, `slurm_exclusive`, `slurm_array_parallelism`, `slurm_signal_delay_s`,
`slurm_additional_parameters`, which become `#SBATCH --partition`, `--exclusive`, `--array=0-N%P`,
`--signal=USR2@90` and any other `--key=value`). One trial is one task on one node; `exclusive =
true` (the default) keeps any other job off that node while a trial is timed.

The signal: Slurm sends USR2 `SIGNAL_DELAY_S` (90 s) before a job's time limit — up to a minute
earlier, as its event handling has that resolution — and a preempting scheduler may send it at
any time (`scancel --signal=USR2`). A job tells the two apart by how long it has run
(`timeout_after_s`): from then on the signal means the time limit. `check_time` refuses a
`time_min` that leaves under a minute before then (time_min ≥ 4).

`submitit-local` uses submitit's `LocalExecutor`: the same job code, the same
files, on this machine; its jobs are submitted one at a time (its executor has no array limit,
and timed trials must not overlap).

`sbatch_script` writes the plain alternative for sites without submitit: one exclusive job per
partition that runs the whole sweep with `bench run` on its node.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from bench.errors import UsageError

#: sbatch's long options (`man sbatch`) that `[launcher] additional` may add. The harness sets
#: the others itself (below) or they would change where its files go, what runs, as whom, or
#: the environment its trials see (`export`, `get-user-env`: the allow-list in
#: `bench.hardware.device_env` decides that).
# fmt: off
SBATCH_OPTIONS = frozenset({
    "account", "acctg-freq", "begin", "bb", "bbf", "cluster-constraint", "clusters", "comment",
    "constraint", "container", "contiguous", "core-spec", "cores-per-socket", "cpu-freq",
    "cpus-per-gpu", "deadline", "delay-boot", "dependency", "distribution", "exclude", "extra",
    "extra-node-info", "gpu-bind", "gpu-freq", "gpus", "gpus-per-socket", "gpus-per-task", "gres",
    "gres-flags", "hint", "hold", "licenses", "mail-type", "mail-user", "mcs-label", "mem-bind",
    "mem-per-cpu", "mem-per-gpu", "mincpus", "network", "nice", "no-kill", "no-requeue",
    "nodelist", "ntasks-per-core", "ntasks-per-gpu", "ntasks-per-socket", "overcommit",
    "oversubscribe", "power", "prefer", "priority", "profile", "propagate", "qos", "reboot",
    "requeue", "reservation", "sockets-per-node", "spread-job", "switches", "thread-spec",
    "threads-per-core", "time-min", "tmp", "tres-per-task", "wckey",
})
#: options the harness sets itself, and the `[launcher]` key that sets each
MANAGED = {
    "job-name": "the partition's name", "nodes": "one node per trial",
    "ntasks-per-node": "one task per trial", "ntasks": "one task per trial",
    "time": "time_min", "partition": "partitions", "gpus-per-node": "gpus_per_node",
    "cpus-per-task": "cpus_per_task", "mem": "mem_gb", "exclusive": "exclusive",
    "array": "array_parallelism", "output": "folder", "error": "folder", "open-mode": "folder",
    "signal": "time_min", "chdir": "the folder bench runs in", "wrap": "the job's command",
}
# fmt: on
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: `#SBATCH --signal=USR2@90`: USR2 comes this long before the job's time limit (set explicitly:
#: it is submitit's default, and the job's rule below depends on it)
SIGNAL_DELAY_S = 90
#: Slurm may send it up to 60 s earlier; the job's Python starts up to ~30 s after Slurm's clock
SIGNAL_MARGIN_S = 90
#: the shortest stretch a job must have in which a signal still means a preemption
MIN_RUN_S = 60

# File systems in this machine's memory: never seen by a job on another node, nor kept.
MEMORY_FS = {"tmpfs", "ramfs", "devtmpfs"}
# File systems on a disk of this machine: seen by jobs only where this machine is the node.
LOCAL_DISK_FS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "overlay", "squashfs",
                 "vfat", "exfat", "jfs", "reiserfs"}  # fmt: skip


def check_additional(pairs: tuple[tuple[str, Any], ...], where: str) -> None:
    """`[launcher] additional`: known sbatch options the harness does not set, each with a
    string or integer value without control characters, or `true` (a bare flag)."""
    for key, value in pairs:
        option = key.replace("_", "-")
        if option in MANAGED:
            raise UsageError(
                f"{where}: [launcher] additional: {key!r} is set by bench itself "
                f"({MANAGED[option]}); remove it from additional."
            )
        if option not in SBATCH_OPTIONS:
            raise UsageError(
                f"{where}: [launcher] additional: {key!r} is not an sbatch option bench can pass "
                f"on; allowed: {', '.join(sorted(SBATCH_OPTIONS))}."
            )
        if value is False or (isinstance(value, str) and (not value or _CONTROL.search(value))):
            raise UsageError(
                f"{where}: [launcher] additional: {key} = {value!r} is invalid: expected a "
                "non-empty string or number without control characters (newline, tab, …), or "
                "true for a bare flag."
            )


def slurm_parameters(launcher: Any, partition: str) -> dict[str, Any]:
    """`AutoExecutor.update_parameters` keywords for one partition's trials."""
    params: dict[str, Any] = {
        "name": f"bench-{partition}" if partition else "bench",
        "nodes": 1,
        "tasks_per_node": 1,
        "timeout_min": launcher.time_min,
        "slurm_array_parallelism": launcher.array_parallelism,
        "slurm_signal_delay_s": SIGNAL_DELAY_S,
    }
    if partition:
        params["slurm_partition"] = partition
    if launcher.gpus_per_node:
        params["gpus_per_node"] = launcher.gpus_per_node
    if launcher.cpus_per_task:
        params["cpus_per_task"] = launcher.cpus_per_task
    if launcher.mem_gb:
        params["mem_gb"] = launcher.mem_gb
    if launcher.exclusive:
        params["slurm_exclusive"] = True
    if launcher.additional:
        params["slurm_additional_parameters"] = {
            key.replace("-", "_"): value for key, value in launcher.additional
        }
    return params


def local_parameters(launcher: Any) -> dict[str, Any]:
    """LocalExecutor's: its time limit, and USR2 `SIGNAL_DELAY_S` before it (as Slurm)."""
    return {"timeout_min": launcher.time_min, "tasks_per_node": 1,
            "signal_delay_s": SIGNAL_DELAY_S}  # fmt: skip


def timeout_after_s(time_limit_s: float, delay_s: float = SIGNAL_DELAY_S) -> float:
    """Seconds into a job after which its USR2 means its time limit, not a preemption."""
    return time_limit_s - delay_s - SIGNAL_MARGIN_S


def check_time(time_min: int, where: str) -> None:
    """Refuse a time limit too short to tell a preemption from the limit (see the module
    docstring)."""
    if timeout_after_s(time_min * 60) < MIN_RUN_S:
        least = -(-(SIGNAL_DELAY_S + SIGNAL_MARGIN_S + MIN_RUN_S) // 60)
        raise UsageError(
            f"{where}: [launcher] time_min = {time_min} is too short: Slurm signals a job "
            f"{SIGNAL_DELAY_S} s before its time limit (up to 60 s earlier), and a trial "
            f"still running then ends as timeout; set time_min to at least {least}."
        )


def make_executor(launcher: Any, folder: Path, partition: str) -> Any:
    """submitit's executor for one partition's trials (`slurm`), or its local one."""
    try:
        import submitit
    except ImportError:
        raise UsageError(
            f"[launcher] kind = {launcher.kind!r} needs submitit, which is not installed here "
            "(pip install -e '.[cluster]')."
        ) from None
    if launcher.kind != "slurm":  # its own class: AutoExecutor hides its signal_delay_s
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(**local_parameters(launcher))
        return executor
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    except RuntimeError as exc:
        raise UsageError(
            f"[launcher] kind = 'slurm': Slurm is not reachable from this machine ({exc}); run "
            "bench on the cluster's login node, or try the same sweep here with "
            "--launcher submitit-local."
        ) from None
    executor.update_parameters(**slurm_parameters(launcher, partition))
    return executor


def _mount_type(path: Path, mounts: str) -> str:
    """The file-system type of the mount holding `path` (longest mount point), from the text
    of /proc/mounts; "" when unknown."""
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = path == Path(point) or Path(point) in path.parents
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def check_folder(
    what: str, folder: Path, shared: bool, mounts: str | None = None, nodes: set[str] | None = None
) -> None:
    """Refuse a folder the jobs could not write, or (`shared`) that the jobs' nodes cannot see:
    one in this machine's memory (tmpfs, ramfs), or on a disk of this machine when the
    partitions' `nodes` (None: unknown) include another machine. The file system decides, not
    the path: a /tmp on a disk is fine where this machine is the only node."""
    folder = folder.expanduser().resolve()
    if shared:
        if mounts is None:
            try:
                mounts = Path("/proc/mounts").read_text(encoding="utf-8")
            except OSError:
                mounts = ""
        kind = _mount_type(folder, mounts)
        here = socket.gethostname().split(".")[0]
        others = sorted((nodes or set()) - {here})
        if kind in MEMORY_FS or (kind in LOCAL_DISK_FS and others):
            why = (f"in this machine's memory ({kind})" if kind in MEMORY_FS else
                   f"on a disk of this machine ({kind}), and the jobs run on other nodes "
                   f"({', '.join(others[:3])}{', …' if len(others) > 3 else ''})")  # fmt: skip
            raise UsageError(
                f"{what} = {str(folder)!r} is {why}: Slurm jobs there would not see it. Use a "
                "folder on the shared file system (your home or project directory)."
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".bench-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"{what} = {str(folder)!r}: cannot write there ({exc.strerror or exc}); choose a "
            "writable folder on the cluster's shared file system."
        ) from None


def sbatch_script(
    launcher: Any,
    partition: str,
    config: Path | None,
    flags: list[str],
    out: Path,
    name: str,
    trials: int,
) -> str:
    """A plain Slurm job script that runs the sweep of `config` (None: the defaults) and the
    user's `flags` for one partition on one exclusive node with `bench run` (no submitit
    needed): submit it with `sbatch`. Every value is a checked name or number, or shell-quoted
    (`shlex`), so nothing in a config becomes a command."""
    job = f"bench-{partition}" if partition else "bench"
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job}", "#SBATCH --nodes=1",
             "#SBATCH --ntasks-per-node=1",
             f"#SBATCH --time={launcher.time_min * max(trials, 1)}"]  # fmt: skip
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if launcher.gpus_per_node:
        lines.append(f"#SBATCH --gpus-per-node={launcher.gpus_per_node}")
    if launcher.cpus_per_task:
        lines.append(f"#SBATCH --cpus-per-task={launcher.cpus_per_task}")
    if launcher.mem_gb:
        lines.append(f"#SBATCH --mem={launcher.mem_gb:g}G")
    if launcher.exclusive:
        lines.append("#SBATCH --exclusive")
    for key, value in launcher.additional:  # as submitit writes them: quoted
        flag = key.replace("_", "-")
        quoted = shlex.quote(str(value))
        lines.append(f"#SBATCH --{flag}" if value is True else f"#SBATCH --{flag}={quoted}")
    run = [sys.executable, "-m", "bench", "run"]
    run += ["--config", str(config.resolve())] if config is not None else []
    run += [*flags, "--launcher", "local", "--out", str(out.resolve())]
    if run_name := "-".join(filter(None, [name, partition])):
        run += ["--name", run_name]
    lines += ["", f"cd {shlex.quote(str(Path.cwd()))}", shlex.join(run), ""]
    return "\n".join(lines)
