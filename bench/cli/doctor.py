"""`python -m bench doctor [--run]`: what works on this machine, and the exact fix for what doesn't.

One line per check: NVML and RAPL (host-wide, informational), then every framework variant ×
device — each framework is imported only in a probe child (`bench.hardware.probe`), never here.
`--run` then runs a tiny real trial (2 epochs of a few steps) per variant × device that passed,
through the same launcher as `bench run`, and checks that it ended `ok` (the runners prove their
placement, so a trial on the wrong device fails), that a GPU trial recorded a non-zero
device-memory peak, and that energy was recorded where the hardware claims to report it.
Exit 0 when everything asked for works, 1 otherwise.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from analysis.numbers import mib, number, seconds
from bench.hardware.doctor import FAIL, INFO, OK, Check, nvml_check, rapl_check, subject, verdict

FRAMEWORKS = ("torch", "keras")
BACKENDS = ("tensorflow", "jax", "torch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `doctor` subcommand's flags."""
    parser.add_argument("--frameworks", metavar="A,B", help="default: torch,keras (all installed)")
    parser.add_argument(
        "--keras-backends", metavar="A,B", help="default: tensorflow,jax,torch (all installed)"
    )
    parser.add_argument("--devices", default="auto", metavar="A,B", help="default: %(default)s")
    parser.add_argument(
        "--run", action="store_true", help="also run a tiny trial per framework and device"
    )


def _csv(text: str | None, default: tuple[str, ...], choices: tuple[str, ...], flag: str) -> list:
    from bench.errors import UsageError

    values = [v.strip() for v in text.split(",") if v.strip()] if text else list(default)
    bad = [v for v in values if choices and v not in choices]
    if bad or not values:
        raise UsageError(f"doctor: {flag} {text!r}: expected a list of {', '.join(choices)}.")
    return values


def _variants(args: argparse.Namespace) -> list[tuple[str, str]]:
    frameworks = _csv(args.frameworks, FRAMEWORKS, FRAMEWORKS, "--frameworks")
    backends = _csv(args.keras_backends, BACKENDS, BACKENDS, "--keras-backends")
    return [("torch", "torch")] * ("torch" in frameworks) + [
        ("keras", b) for b in backends if "keras" in frameworks
    ]


def _host_checks(devices: list[Any]) -> tuple[list[Check], str | None, set[str]]:
    """NVML, RAPL and the GPU inventory; the driver's CUDA version; the devices whose energy
    the hardware reports (the CPU where RAPL is readable, GPUs with NVML's energy counter)."""
    from bench.hardware.nvml import Nvml
    from bench.trial.energy import RaplReader, package_domains

    nvml = Nvml.load()
    gpus = nvml.gpus() if nvml is not None else None
    metered = {
        d.name
        for d in devices
        if nvml is not None
        and d.kind == "cuda"
        and nvml.total_energy_mj(d.uuid or d.index) is not None  # fmt: skip
    }
    if nvml is not None:
        nvml.shutdown()
    driver = gpus[0].driver_version if gpus else None
    cuda = gpus[0].cuda_driver_version if gpus else None
    rapl = RaplReader().available()
    checks = [nvml_check(gpus, driver, cuda), rapl_check(len(package_domains()), rapl)]
    others = [d.name for d in devices if d.kind != "cpu"]
    words = ", ".join(others) if others else "none found (no NVIDIA, ROCm or Apple GPU): CPU only"
    checks.append(Check("GPUs", "", OK if others else INFO, words))
    return checks, cuda, metered | ({"cpu"} if rapl else set())


def _line(check: Check) -> str:
    return f"{check.status:<4}  {check.subject:<20}  {check.device:<7}  {check.detail}"


def doctor(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.hardware import devices as devices_mod
    from bench.hardware.probe import run_probe

    variants = _variants(args)
    available = devices_mod.discover()
    try:
        chosen = devices_mod.resolve(_csv(args.devices, ("auto",), (), "--devices"), available)
    except ValueError as exc:
        raise UsageError(f"doctor: --devices: {exc}") from None
    host, driver_cuda, metered = _host_checks(available)
    checks = list(host)
    for check in host:
        print(_line(check), flush=True)
    explicit = args.frameworks is not None or args.keras_backends is not None
    working = []
    for framework, backend in variants:
        facts = run_probe(framework, backend)
        for device in chosen:
            check = verdict(framework, backend, facts, device, driver_cuda)
            if check.status == FAIL and "not installed" in check.detail and not explicit:
                check = Check(check.subject, check.device, INFO, check.detail)
            checks.append(check)
            print(_line(check), flush=True)
            if check.status == OK:
                working.append((framework, backend, device))
    if args.run:
        for framework, backend, device in working:
            check = run_check(framework, backend, device, device.name in metered)
            checks.append(check)
            print(_line(check), flush=True)
    failed = sum(c.status == FAIL for c in checks)
    print(f"doctor: {failed} problem(s)" if failed else "doctor: everything asked for works")
    return 1 if failed else 0


def tiny_trial(framework: str, backend: str, device: Any) -> Any:
    """One short real trial: seed_cnn, 2 epochs of 4 steps of 32 synthetic images."""
    from bench.core import config as config_mod
    from bench.core.plan import plan
    from bench.hardware.devices import default_threads

    mode = "graph" if backend == "tensorflow" else "eager"
    overrides = {
        "sweep": {
            "frameworks": [framework],
            "keras_backends": [backend if framework == "keras" else "tensorflow"],
            "keras_modes": [mode],
            "models": ["seed_cnn"],
            "devices": [device.name],
            "batch_sizes": [32],
        },
        "train": {"epochs": 2, "samples": 128, "timeout_s": 300.0},
    }
    cfg = config_mod.load(None, overrides, ["doctor --run"])
    return plan(cfg, [device], default_threads())[0]


def run_check(framework: str, backend: str, device: Any, metered: bool) -> Check:
    """Run `tiny_trial` through the local launcher; judge status, device memory and energy."""
    from bench.core.rows import trial_rows
    from bench.launchers.local import run_trial

    trial = tiny_trial(framework, backend, device)
    name = f"{subject(framework, backend)} run"
    with tempfile.TemporaryDirectory(prefix="bench-doctor-") as tmp:
        outcome = run_trial(trial, Path(tmp) / "work", Path(tmp) / "trial.log")
    if outcome.status != "ok":
        return Check(name, device.name, FAIL, f"trial {outcome.status}: {outcome.error}")
    rows = trial_rows("doctor", trial, "ok", 0, "", outcome.events, None)
    row, epochs = rows["trials.csv"][0], rows["epochs.csv"]
    problems = []
    if device.kind != "cpu" and not row.peak_device_bytes:
        problems.append("no device-memory peak was recorded")
    energy = [e.energy_j for e in epochs if e.energy_j]
    if metered and not energy:
        problems.append("the hardware reports energy, but no epoch recorded any")
    words = (
        f"2 epochs ok: first {seconds(row.first_epoch_s)}, steady {seconds(row.steady_epoch_s)}"
        + (f", device peak {mib(row.peak_device_bytes)} MiB" if row.peak_device_bytes else "")
        + (f", {number(sum(energy))} J" if energy else "")
    )
    return Check(name, device.name, FAIL if problems else OK, "; ".join([words, *problems]))
