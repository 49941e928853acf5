"""What machine and software a run happened on: the host fingerprint and git commit in run.json.

Framework versions come from installed package metadata (`importlib.metadata`), so nothing here
imports torch, tensorflow, keras or jax (DESIGN.md, principle 1). GPUs come from NVML through
`bench.hardware.nvml.Nvml`; pass `None` to leave them out. The GPU list is every board NVML
sees (with its MIG mode and slices); `cuda_visible_devices` records which of them the run was
allowed to use (None: the variable was unset, i.e. all).
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.hardware.devices import cpu_cores, cpu_model
from bench.hardware.nvml import Nvml

FRAMEWORK_PACKAGES = (
    "torch",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "jax",
    "jaxlib",
    "numpy",
    "nvidia-ml-py",
    "psutil",
)
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def framework_versions() -> dict[str, str]:
    """Installed versions of the packages in `FRAMEWORK_PACKAGES`; absent ones are left out."""
    versions = {}
    for package in FRAMEWORK_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def this_host() -> dict[str, Any]:
    """`host_fingerprint` of this machine with its GPUs (NVML loaded for it, and shut down)."""
    nvml = Nvml.load()
    try:
        return host_fingerprint(nvml)
    finally:
        if nvml is not None:
            nvml.shutdown()


def host_fingerprint(nvml: Nvml | None) -> dict[str, Any]:
    """A JSON-serialisable description of this host, its GPUs and installed frameworks."""
    physical, logical = cpu_cores()
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "cpu_model": cpu_model(),
        "cpu_physical_cores": physical,
        "cpu_logical_cores": logical,
        "ram_bytes": psutil.virtual_memory().total,
        "gpus": [asdict(gpu) for gpu in nvml.gpus()] if nvml is not None else [],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "framework_versions": framework_versions(),
    }


def git_commit(path: str | Path) -> str | None:
    """The commit checked out at `path` (`git rev-parse HEAD`), or None on any failure."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    sha = done.stdout.strip()
    if done.returncode != 0 or not _SHA.fullmatch(sha):
        return None
    return sha
