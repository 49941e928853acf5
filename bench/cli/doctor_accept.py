"""`bench doctor --run`'s GPU acceptance checks: what to check, the runs, the lines and the record.

Per GPU among the chosen devices and per framework that passed its probe there (torch;
Keras on JAX → `jax`; Keras on TensorFlow → `tensorflow`; Keras on torch → `torch`):
the sync and TF32 truths in a child (`bench.runners.acceptance_child`, the GPU made visible as
a trial's is). Per GPU, once: the NVML truth, from a short real trial (torch where it passed,
else the first Keras variant). Per GPU and compiled variant (torch `compile`: inductor; Keras on
JAX `xla`): the warm cache truth, two such trials one after the other on one cache folder.
The verdicts are `bench.hardware.acceptance`'s. Without a GPU each check is one line
"skipped: no GPU (...)". The record goes to `--json-out PATH`, else to a timestamped file in the
temporary folder; its path is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.hardware import acceptance as acc
from bench.hardware.doctor import FAIL, INFO, OK, Check
from bench.hardware.fingerprint import framework_versions

#: The framework a variant's acceptance child imports.
CHILD = {
    ("torch", "torch"): "torch",
    ("keras", "jax"): "jax",
    ("keras", "tensorflow"): "tensorflow",
    ("keras", "torch"): "torch",
}
#: The compile mode whose warm cache is checked: torch inductor, Keras on JAX with XLA.
COMPILED = {("torch", "torch"): "compile", ("keras", "jax"): "xla"}
SPEC = {"n": 4096, "matmuls": 40, "error_n": 1024}
CHILD_MODULE = "bench.runners.acceptance_child"
STATUS = {acc.PASS: OK, acc.FAIL: FAIL, acc.WARN: INFO, acc.SKIPPED: INFO}
Variant = tuple[str, str]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json-out",
        metavar="PATH",
        help="with --run: write what was verified (machine, GPUs, versions, each check's "
        "status and numbers) as JSON to PATH (default: bench-doctor-DATE.json in the "
        "temporary folder); scripts/verified_rows.py turns it into docs/verified-on.md rows",
    )


def targets(found: list[tuple[Variant, Any, Check]]) -> list[tuple[Any, list[Variant]]]:
    """(GPU, the variants whose probe passed on it), per GPU among the checked devices."""
    gpus: dict[str, tuple[Any, list[Variant]]] = {}
    for variant, device, check in found:
        if device.kind == "cuda":
            gpus.setdefault(device.name, (device, []))
            if check.status == OK:
                gpus[device.name][1].append(variant)
    return list(gpus.values())


def run_child(framework: str, device: Any, timeout_s: float = 300.0) -> dict[str, Any]:
    """The acceptance child's numbers for `framework` on `device`, or `{"error": ...}`."""
    from bench.hardware.device_env import device_env
    from bench.hardware.probe import json_child

    env = device_env("cuda", device.cuda_visible_id, 4)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2"})
    with tempfile.TemporaryDirectory(prefix="bench-accept-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"framework": framework, **SPEC}), encoding="utf-8")
        return json_child(CHILD_MODULE, [str(spec)], env, timeout_s, "acceptance child")


def judge_child(framework: str, device: Any, numbers: dict[str, Any]) -> list[acc.Result]:
    """The sync and TF32 verdicts from one child's numbers."""
    name, capability = device.name, device.compute_capability
    results = []
    for check, key in (("sync truth", "sync"), ("TF32 truth", "tf32")):
        part = numbers.get(key) or {"error": numbers.get("error") or "no numbers"}
        if part.get("error"):
            results.append(acc.failed(check, framework, name, part["error"]))
        elif key == "sync":
            results.append(acc.sync_verdict(framework, name, part))
        else:
            results.append(acc.tf32_verdict(framework, name, part, capability))
    return results


def trial(variant: Variant, device: Any, mode: str, samples: int, timeout_s: float = 600.0) -> Any:
    """A short real trial of seed_cnn (2 epochs of `samples` synthetic images, batch 32)."""
    from bench.core import config as config_mod
    from bench.core.plan import plan
    from bench.hardware.devices import default_threads

    framework, backend = variant
    sweep = {"frameworks": [framework], "models": ["seed_cnn"], "devices": [device.name],
             "batch_sizes": [32], "torch_modes": [mode if framework == "torch" else "eager"],
             "keras_backends": [backend if framework == "keras" else "tensorflow"],
             "keras_modes": [mode if framework == "keras" else "graph"]}  # fmt: skip
    train = {"epochs": 2, "samples": samples, "timeout_s": timeout_s}
    cfg = config_mod.load(None, {"sweep": sweep, "train": train}, ["doctor --run"])
    return plan(cfg, [device], default_threads())[0]


def run_rows(
    variant: Variant,
    device: Any,
    mode: str,
    samples: int,
    cache: Path | None,
    timeout_s: float = 600.0,
) -> Any:
    """Run `trial(...)` (on the `cache` folder where given); its table rows, or its error."""
    from bench.core.rows import trial_rows
    from bench.launchers.local import run_trial

    planned = trial(variant, device, mode, samples, timeout_s)
    if planned.skip:
        return f"the trial was planned as skipped: {planned.skip}"
    with tempfile.TemporaryDirectory(prefix="bench-accept-") as tmp:
        work, log = Path(tmp) / "work", Path(tmp) / "trial.log"
        outcome = run_trial(planned, work, log, cache_dir=cache)
    if outcome.status != "ok":
        return f"trial {outcome.status}: {outcome.error}"
    return trial_rows("doctor", planned, "ok", 0, "", outcome.events, None)


def nvml_truth(variant: Variant, device: Any, samples: int = 4096) -> acc.Result:
    """NVML's readings of a short real trial (`samples` per epoch: long enough on a GPU for
    the energy counter to move)."""
    name = "/".join(dict.fromkeys(variant))
    mode = "graph" if variant[1] == "tensorflow" else "eager"  # Keras on JAX has no graph mode
    rows = run_rows(variant, device, mode, samples, None)
    if isinstance(rows, str):
        return acc.failed("NVML truth", name, device.name, rows)
    samples, epochs = rows["samples.csv"], rows["epochs.csv"]
    return acc.nvml_verdict(
        name,
        device.name,
        [s.gpu_process_memory_bytes for s in samples],
        [s.gpu_memory_used_bytes for s in samples],
        [e.energy_gpu_j for e in epochs],
    )


def cache_truth(variant: Variant, device: Any) -> acc.Result:
    name = "/".join(dict.fromkeys(variant))
    firsts = []
    with tempfile.TemporaryDirectory(prefix="bench-accept-cache-") as cache:
        for _ in ("cold", "warm"):
            rows = run_rows(variant, device, COMPILED[variant], 256, Path(cache))
            if isinstance(rows, str):
                return acc.failed("warm cache truth", name, device.name, rows)
            firsts.append(rows["trials.csv"][0].first_step_s)
    return acc.cache_verdict(name, device.name, *firsts)


def gpu_results(device: Any, variants: list[Variant]) -> Iterator[acc.Result]:
    """Every acceptance check on one GPU for the variants that passed their probe there, each
    as soon as it is judged."""
    if not variants:
        why = "no framework passed its probe on this GPU"
        yield from (acc.skipped(check, why, device=device.name) for check in acc.CHECKS)
        return
    for framework in dict.fromkeys(CHILD[v] for v in variants):
        yield from judge_child(framework, device, run_child(framework, device))
    yield nvml_truth(sorted(variants, key=list(CHILD).index)[0], device)
    yield from (cache_truth(v, device) for v in variants if v in COMPILED)


def gpu_facts(devices: list[Any]) -> list[dict[str, Any]]:
    """What the record says of each GPU checked: NVML's name, UUID, driver, CUDA, capability."""
    from bench.hardware.nvml import Nvml

    nvml = Nvml.load()
    info = nvml.gpus() if nvml is not None else []
    if nvml is not None:
        nvml.shutdown()
    driver = info[0].driver_version if info else None
    cuda = info[0].cuda_driver_version if info else None
    return [
        {
            "device": d.name,
            "name": d.label,
            "uuid": d.uuid,
            "driver": driver,
            "cuda": cuda,
            "compute_capability": ".".join(map(str, d.compute_capability or ())) or None,
            "memory_bytes": d.memory_bytes,
        }
        for d in devices
    ]


def as_check(result: acc.Result) -> Check:
    subject = f"{result.framework}: {result.name}" if result.framework else result.name
    return Check(subject, result.device, STATUS[result.status], result.detail)


def accept(
    args: argparse.Namespace,
    found: list[tuple[Variant, Any, Check]],
    earlier: list[Check],
    emit: Callable[[Check], None],
) -> list[Check]:
    """Run the acceptance checks, `emit` each line, write the record; the checks, as lines."""
    gpus = targets(found)
    results: list[acc.Result] = []
    if not gpus:
        any_gpu = any(c.subject == "GPUs" and c.status == OK for c in earlier)
        why = "no GPU (--devices chose none)" if any_gpu else "no GPU (none found: CPU only)"
        results = [acc.skipped(check, why) for check in acc.CHECKS]
        for result in results:
            emit(as_check(result))
    for device, variants in gpus:
        for result in gpu_results(device, variants):
            results.append(result)
            emit(as_check(result))
    path = Path(args.json_out) if args.json_out else acc.default_json_path()
    entries = [{"name": c.subject, "framework": "", "device": c.device, "status": c.status.lower(),
                "detail": c.detail, "numbers": {}} for c in earlier]  # fmt: skip
    data = acc.record(gpu_facts([d for d, _ in gpus]), framework_versions(), entries)
    data["checks"] += [acc.result_entry(r) for r in results]
    checks = [as_check(r) for r in results]
    try:
        acc.write(path, data)
    except OSError as exc:
        checks.append(Check("record", "", FAIL, f"cannot write {os.fspath(path)}: {exc}"))
        emit(checks[-1])
        return checks
    print(f"doctor: what was verified is in {os.fspath(path)}", flush=True)
    return checks
