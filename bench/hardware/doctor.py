"""`bench doctor`'s verdicts: does a framework work on a device here, and if not, the exact fix.

Pure functions over what the probe children (`bench.hardware.probe`) and NVML reported, so that
every verdict is tested with hand-made facts: a CPU-only build asked for a GPU, a build for a
newer CUDA than the driver supports, a ROCm build, a Mac.

CUDA compatibility (NVIDIA's CUDA compatibility guide): a driver runs code built for its own CUDA
version or older. A newer runtime of the *same major* version still runs on an older driver
("minor version compatibility", since CUDA 11) except for features that need the newer driver,
such as PTX JIT of kernels built for newer GPUs; a runtime of a newer *major* version does not
run at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.hardware.install_advice import install_advice
from bench.hardware.placement import GPU_BUILD, jax_no_gpu_reason
from bench.hardware.venv import Distributions, overwrites

OK, INFO, FAIL = "ok", "info", "FAIL"
INSTALL = {
    "torch": "pip install -e '.[torch]'",
    "tensorflow": "pip install -e '.[keras]'",
    "jax": "pip install jax",
    "keras": "pip install -e '.[keras]'",
}
GPU_INSTALL = {
    "torch": f"this torch is a CPU-only build (torch.version.cuda is None); {GPU_BUILD['torch']}",
    "tensorflow": "this TensorFlow is a CPU-only build (tensorflow-cpu); "
    + GPU_BUILD["tensorflow"],
}


@dataclass(frozen=True, slots=True)
class Check:
    """One line of `bench doctor`: what was checked, on which device, and what came out."""

    subject: str  # "host", "torch", "keras/tensorflow", ...
    device: str  # "cpu", "cuda:0", "mps", or "" for host-wide checks
    status: str  # OK, INFO (nothing asked for is broken) or FAIL
    detail: str


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """ "12.4" → (12, 4); None for None or text that is not a version."""
    try:
        return tuple(int(p) for p in str(text).split(".")[:2]) if text else None
    except ValueError:
        return None


def cuda_compatibility(runtime: str | None, driver: str | None) -> tuple[str, str]:
    """(status, words) for a framework built for CUDA `runtime` on a driver for CUDA `driver`."""
    rt, drv = version_tuple(runtime), version_tuple(driver)
    if rt is None or drv is None:
        return OK, ""
    if drv >= rt:
        return OK, f"driver supports CUDA {driver} ≥ {runtime}"
    if drv[0] == rt[0]:
        return OK, (
            f"built for CUDA {runtime}, driver supports {driver}: runs under minor-version "
            "compatibility (no PTX JIT for newer GPUs); updating the driver is safer"
        )
    return FAIL, (
        f"built for CUDA {runtime} but the driver supports only CUDA {driver}: update the NVIDIA "
        f"driver, or install a build for CUDA {drv[0]}"
    )


def subject(framework: str, backend: str) -> str:
    return framework if framework == backend or framework == "torch" else f"{framework}/{backend}"


def _library(framework: str, backend: str) -> str:
    """The library that owns the device for this variant (Keras runs on its backend's)."""
    return "torch" if framework == "torch" else backend


def verdict(
    framework: str, backend: str, facts: dict[str, Any], device: Any, driver_cuda: str | None
) -> Check:
    """Whether `framework` on `backend` can train on `device` (a `Device`), and the fix if not."""
    name = subject(framework, backend)
    where = device.name
    if error := facts.get("error"):
        if "ModuleNotFoundError" in error:
            missing = error.split("'")[1] if "'" in error else framework
            hint = INSTALL.get(missing.split(".")[0], f"pip install {missing}")
            return Check(name, where, FAIL, f"not installed ({missing}): {hint}")
        return Check(name, where, FAIL, f"does not import: {error}")
    version = _versions(facts)
    library = _library(framework, backend)
    if device.kind == "cpu":
        return Check(name, where, OK, version)
    if device.kind == "mps":
        if library != "torch":
            return Check(name, where, FAIL, f"{version}: bench runs Keras on mps only on torch")
        if facts.get("mps"):
            return Check(name, where, OK, f"{version}, MPS available")
        return Check(name, where, FAIL, f"{version}: torch sees no MPS (macOS 12.3+, Apple GPU)")
    return _gpu_verdict(name, library, facts, device, driver_cuda, version)


def _gpu_verdict(
    name: str, library: str, facts: dict[str, Any], device: Any, driver: str | None, version: str
) -> Check:
    where, gpus = device.name, facts.get("gpus", [])
    cuda, hip = facts.get("cuda"), facts.get("hip")
    if not gpus:
        if library == "jax":
            seen = ", ".join(facts.get("platforms") or [])
            what = f"JAX sees only {seen} devices" if seen else "JAX could not start its backends"
            reason = jax_no_gpu_reason(
                facts.get("plugins", []), facts.get("backend_error", ""), driver
            )
            return Check(name, where, FAIL, f"{version}: {what}: {reason}")
        if cuda is None and hip is None:
            return Check(name, where, FAIL, f"{version}: {GPU_INSTALL[library]}")
        status, words = cuda_compatibility(cuda, driver)
        reason = words if status == FAIL else "check CUDA_VISIBLE_DEVICES and `nvidia-smi`"
        return Check(name, where, FAIL, f"{version}: built for GPUs but sees none; {reason}")
    status, words = cuda_compatibility(cuda, driver) if not hip else (OK, "")
    seen = f"sees {len(gpus)} GPU(s): {', '.join(sorted({g['name'] for g in gpus}))}"
    return Check(name, where, status, "; ".join(filter(None, [version, seen, words])))


def _versions(facts: dict[str, Any]) -> str:
    parts = [facts.get("version", "?")]
    if facts.get("backend_version"):
        parts[0] += f" on {facts['backend_version']}"
    for key, label in (("cuda", "CUDA"), ("hip", "ROCm/HIP"), ("cudnn", "cuDNN")):
        if facts.get(key):
            parts.append(f"{label} {facts[key]}")
    return ", ".join(parts)


def nvml_check(nvml_gpus: list[Any] | None, driver: str | None, cuda: str | None) -> Check:
    """NVML: readable (driver, CUDA driver version, GPUs) or why not (informational)."""
    if nvml_gpus is None:
        return Check("NVML", "", INFO, "not readable (no NVIDIA driver here): no NVIDIA GPU data")
    return Check(
        "NVML",
        "",
        OK,
        f"driver {driver or '?'}, CUDA driver {cuda or '?'}, {len(nvml_gpus)} GPU(s) visible",
    )


def rapl_check(domains: int, readable: bool) -> Check:
    """RAPL (CPU package energy): readable, or the permission fix (informational)."""
    if readable:
        return Check("RAPL", "", OK, f"readable ({domains} package(s)): CPU energy is recorded")
    if domains:
        return Check(
            "RAPL",
            "",
            INFO,
            "present but not readable (energy_uj is root-only since Linux 5.10): to record CPU "
            "energy, sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj (until reboot)",
        )
    return Check("RAPL", "", INFO, "no RAPL package domains (a VM or a non-x86 CPU): no CPU energy")


def install_checks(
    gpus: list[Any] | None, distributions: Distributions | None = None
) -> list[Check]:
    """Which GPU install fits this machine (from NVML's driver and compute capabilities: `gpus`
    as `Nvml.gpus()` gives them, None without NVML), and each pair of distributions in this venv
    that overwrite each other's files (a problem)."""
    driver = gpus[0].driver_version if gpus else None
    advice = install_advice(driver, [g.compute_capability for g in gpus or []])
    checks = [Check("install", "", INFO, advice.text)]
    return checks + [Check("venv", "", FAIL, said) for said in overwrites(distributions)]
