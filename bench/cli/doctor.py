"""`python -m bench doctor [--run]`: what works on this machine, and the exact fix for what doesn't.

One line per check, printed (and flushed) the moment it ends: NVML, RAPL and the GPUs — or why
there is none (`bench.hardware.nogpu`) — (host-wide, informational), then every framework variant
× device. Each framework is imported only in a probe child (`bench.hardware.probe`), never here;
the probes run side by side, as many as there are cores (importing TensorFlow, JAX or torch is
seconds of CPU each, so more would only queue), each child's thread pools capped to its share,
and their lines come in the order the children finish.
`--run` then runs a tiny real trial (2 epochs of a few steps) per variant × device that passed,
through the same launcher as `bench run`, and checks that it ended `ok` (the runners prove their
placement, so a trial on the wrong device fails), that a GPU trial recorded a non-zero
device-memory peak, and that energy was recorded where the hardware claims to report it.
Exit 0 when everything asked for works, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from analysis.numbers import mib, number, seconds
from bench.cli import doctor_accept
from bench.cli.flags import choose, describe, many
from bench.errors import UsageError
from bench.hardware.doctor import FAIL, INFO, OK, Check, nvml_check, rapl_check, subject, verdict

FRAMEWORKS = ("torch", "keras")
BACKENDS = ("tensorflow", "jax", "torch")
Variant = tuple[str, str]  # (framework, Keras backend; "torch" for torch itself)
#: The order the probes start in: torch first (its import is the quickest, ~2 s: a first line
#: within seconds), then the slowest imports first so that the cores finish together (on the
#: 2-core VM, importing Keras on TensorFlow takes ~8 s, on torch ~7 s, on JAX ~5 s).
PROBE_ORDER = [("torch", "torch"), ("keras", "tensorflow"), ("keras", "torch"), ("keras", "jax")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `doctor` subcommand's flags, description and examples."""
    from bench.core.rules import default_text, rules
    from bench.core.settings import Sweep

    describe(
        parser,
        "What works on this machine, and the exact fix for what doesn't: NVML (driver, CUDA "
        "driver version), RAPL, the GPUs found (or why there is none), then one line per "
        "framework variant x device, each framework probed in a child process (several at "
        "once where the cores allow), each line printed as soon as its check ends. Exit 0 when "
        "everything asked for works, 1 otherwise.",
        [
            ("bench doctor", "every installed framework on every device"),
            ("bench doctor --frameworks torch --devices cuda", "can torch use the GPU?"),
            ("bench doctor --run", "also a tiny real trial per working variant and device"),
        ],
    )
    parser.add_argument(
        "--frameworks",
        metavar=many("NAME"),
        help="torch, keras; one not installed fails the check only when named here "
        f"(default: {','.join(FRAMEWORKS)}, those installed)",
    )
    parser.add_argument(
        "--keras-backends",
        metavar=many("NAME"),
        help=f"the backends to check Keras on (default: {','.join(BACKENDS)}, those installed)",
    )
    parser.add_argument(
        "--devices",
        default=default_text(rules(Sweep)["devices"], flag=True),
        metavar=many("NAME"),
        help="auto, cpu, cuda (every GPU), cuda:N or mps, as in [sweep] devices",
    )
    parser.add_argument(
        "--run", action="store_true", help="also run a tiny trial per framework and device"
    )
    doctor_accept.add_json_flag(parser)


def _variants(args: argparse.Namespace) -> list[Variant]:
    """The variants asked for (every one by default), each name checked."""
    from bench.core.settings import FRAMEWORK_HINTS

    frameworks = choose(
        ",".join(FRAMEWORKS) if args.frameworks is None else args.frameworks,
        FRAMEWORKS,
        "--frameworks",
        hints=FRAMEWORK_HINTS,
    )
    backends = choose(
        ",".join(BACKENDS) if args.keras_backends is None else args.keras_backends,
        BACKENDS,
        "--keras-backends",
        "Keras backend",
    )
    return [("torch", "torch")] * ("torch" in frameworks) + [
        ("keras", b) for b in backends if "keras" in frameworks
    ]


def _host_checks(devices: list[Any]) -> tuple[list[Check], str | None, set[str]]:
    """NVML, RAPL and the GPU inventory (or why there is none); the driver's CUDA version; the
    devices whose energy the hardware reports (the CPU where RAPL is readable, GPUs with NVML's
    energy counter)."""
    from bench.hardware.doctor import install_checks
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
    if others:
        checks.append(Check("GPUs", "", OK, ", ".join(others)))
    else:
        from bench.hardware.nogpu import reasons_here

        checks.append(Check("GPUs", "", INFO, "none found: CPU only"))
        checks += [Check("GPUs", "", INFO, f"no GPU: {reason}") for reason in reasons_here()]
    checks += install_checks(gpus)  # which GPU extra fits; distributions that clash
    return checks, cuda, metered | ({"cpu"} if rapl else set())


def line(check: Check) -> str:
    return f"{check.status:<4}  {check.subject:<20}  {check.device:<7}  {check.detail}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a Slurm or container limit)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def probe_all(
    variants: list[Variant], probe: Callable[..., dict[str, Any]], cores: int
) -> Iterator[tuple[Variant, dict[str, Any]]]:
    """Start probing every variant in its own child, as many at once as there are `cores` (each
    child's thread pools capped to its share); (variant, facts) as each child finishes."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    workers = max(1, min(len(variants), cores))
    threads = max(1, cores // workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-probe")
    running = {pool.submit(probe, f, b, threads=threads): (f, b) for f, b in variants}
    pool.shutdown(wait=False)  # takes no more work; its threads finish what was submitted
    return _as_they_finish(running, as_completed)


def _as_they_finish(running: dict, as_completed: Callable) -> Iterator[tuple[Variant, Any]]:
    try:
        for done in as_completed(running):
            yield running[done], done.result()
    finally:  # Ctrl-C, or an error: start no further child
        for future in running:
            future.cancel()


def framework_checks(
    chosen: list[Any],
    facts: Iterator[tuple[Variant, dict[str, Any]]],
    driver_cuda: str | None,
    explicit: bool,
    out: TextIO,
) -> list[tuple[Variant, Any, Check]]:
    """(variant, device, check) per variant x chosen device, each check written to `out` (and
    flushed) as soon as its probe's facts arrive; a framework not installed is a failure only
    where it was named."""
    found = []
    for (framework, backend), facts_of in facts:
        for device in chosen:
            check = verdict(framework, backend, facts_of, device, driver_cuda)
            if check.status == FAIL and "not installed" in check.detail and not explicit:
                check = Check(check.subject, check.device, INFO, check.detail)
            found.append(((framework, backend), device, check))
            print(line(check), file=out, flush=True)
    return found


def doctor(args: argparse.Namespace) -> int:
    from bench.hardware import devices as devices_mod
    from bench.hardware.probe import run_probe

    if args.json_out and not args.run:
        raise UsageError("doctor: --json-out records what --run verified: add --run")
    variants = _variants(args)
    available = devices_mod.discover()
    try:
        chosen = devices_mod.resolve([d.strip() for d in args.devices.split(",")], available)
    except ValueError as exc:
        raise UsageError(f"doctor: --devices: {exc}") from None
    cores = usable_cores()
    names = ", ".join(f"{f}/{b}" if f != b else f for f, b in variants)
    at_once = min(len(variants), cores)
    print(f"doctor: probing {names} in child processes, {at_once} at a time…", file=sys.stderr)
    queue = sorted(variants, key=PROBE_ORDER.index)
    facts = probe_all(queue, run_probe, cores)  # the children start now; the host meanwhile
    host, driver_cuda, metered = _host_checks(available)
    for check in host:
        print(line(check), flush=True)
    explicit = args.frameworks is not None or args.keras_backends is not None
    found = framework_checks(chosen, facts, driver_cuda, explicit, sys.stdout)
    checks = [*host, *(check for _, _, check in found)]
    if args.run:
        order = {v: n for n, v in enumerate(variants)}  # in the order asked, as they finished
        for (framework, backend), device, check in sorted(found, key=lambda f: order[f[0]]):
            if check.status == OK:
                ran = run_check(framework, backend, device, device.name in metered)
                checks.append(ran)
                print(line(ran), flush=True)
        checks += doctor_accept.accept(args, found, checks, lambda c: print(line(c), flush=True))
    failed = sum(c.status == FAIL for c in checks)
    print(f"doctor: {failed} problem(s)" if failed else "doctor: everything asked for works")
    return 1 if failed else 0


def run_check(framework: str, backend: str, device: Any, metered: bool) -> Check:
    """Run a tiny real trial — seed_cnn, 2 epochs of 4 steps of 32 synthetic images, in eager
    mode (Keras on TensorFlow: graph) — through the local launcher; judge its status, device
    memory and energy."""
    mode = "graph" if backend == "tensorflow" else "eager"
    name = f"{subject(framework, backend)} run"
    rows = doctor_accept.run_rows((framework, backend), device, mode, 128, None, 300.0)
    if isinstance(rows, str):  # why it did not end ok
        return Check(name, device.name, FAIL, rows)
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
