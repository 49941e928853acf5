"""From a `[launcher]` table to submitit's executor, and the checks before anything is submitted.

`slurm_parameters` is the whole mapping (pure; the unit tests check it), in the names of
submitit's `AutoExecutor.update_parameters`: the shared ones (`timeout_min`, `gpus_per_node`,
`cpus_per_task`, `mem_gb`, `nodes`, `tasks_per_node`, `name`) and Slurm's own with the `slurm_`
prefix (`slurm_partition`, `slurm_exclusive`, `slurm_array_parallelism`,
`slurm_additional_parameters`, which become `#SBATCH --partition`, `--exclusive`, `--array=0-N%P`
and any other `--key=value`). One trial is one task on one node; `exclusive = true` (the default)
keeps any other job off that node while a trial is timed.

`submitit-local` uses submitit's LocalExecutor (`cluster="local"`): the same job code, the same
files, on this machine; its jobs are submitted one at a time (its executor has no array limit,
and timed trials must not overlap).

`sbatch_script` writes the plain alternative for sites without submitit: one exclusive job per
partition that runs the whole sweep with `bench run` on its node.
"""

from __future__ import annotations

import os
import re
import shlex
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

# Node-local file systems: a folder on one of them is not seen by the other nodes.
LOCAL_FS = {"tmpfs", "ramfs", "devtmpfs", "overlay", "squashfs"}
LOCAL_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


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
    """LocalExecutor's: its time limit (the USR2 signal comes shortly before it)."""
    return {"timeout_min": launcher.time_min, "tasks_per_node": 1}


def make_executor(launcher: Any, folder: Path, partition: str) -> Any:
    """submitit's executor for one partition's trials (`slurm`), or its local one."""
    try:
        import submitit
    except ImportError:
        raise UsageError(
            f"[launcher] kind = {launcher.kind!r} needs submitit, which is not installed here "
            "(pip install -e '.[cluster]')."
        ) from None
    cluster = "slurm" if launcher.kind == "slurm" else "local"
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    except RuntimeError as exc:
        raise UsageError(
            f"[launcher] kind = 'slurm': Slurm is not reachable from this machine ({exc}); run "
            "bench on the cluster's login node, or try the same sweep here with "
            "--launcher submitit-local."
        ) from None
    if cluster == "slurm":
        executor.update_parameters(**slurm_parameters(launcher, partition))
    else:
        executor.update_parameters(**local_parameters(launcher))
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


def check_folder(what: str, folder: Path, shared: bool, mounts: str | None = None) -> None:
    """Refuse a folder the jobs could not write, or (`shared`) that other nodes cannot see."""
    folder = folder.expanduser().resolve()
    if shared:
        if mounts is None:
            try:
                mounts = Path("/proc/mounts").read_text(encoding="utf-8")
            except OSError:
                mounts = ""
        kind = _mount_type(folder, mounts)
        local = [d for d in LOCAL_DIRS if folder == d or d in folder.parents]
        if kind in LOCAL_FS or local:
            why = f"a {kind} file system" if kind in LOCAL_FS else f"under {local[0]}"
            raise UsageError(
                f"{what} = {str(folder)!r} is {why}, local to this machine: Slurm jobs on other "
                "nodes would not see it. Use a folder on the shared file system (your home or "
                "project directory)."
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
