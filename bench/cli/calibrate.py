"""`python -m bench calibrate`: flags → `bench.hardware.calibrate.calibrate` on the chosen devices.

The measuring (one child per framework × device) and the calibration document live in
`bench.hardware.calibrate`; this module only turns the command line into its arguments.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.cli.flags import choose, deprecate, describe, many
from bench.errors import UsageError
from bench.hardware.calibrate import DEFAULT_OUT, DTYPES, FRAMEWORKS, Settings, calibrate


def _csv(text: str | None, kind: type = str) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UsageError(f"calibrate: bad list {text!r}: {exc}") from None


#: calibrate measures Keras on TensorFlow: a backend named as a framework means keras.
HINTS = dict.fromkeys(("tensorflow", "tf"), "calibrate measures TensorFlow as --frameworks keras.")
# A flag whose Settings field name means something else elsewhere (run --repeats = processes).
FLAGS = {"repeats": "--batches"}
_HELP = {
    "repeats": "timed batches per size",
    "warmup": "untimed matmuls first",
    "warmup_s": "and at least this many seconds of them",
    "min_batch_s": "shortest timed batch, in seconds",
    "timeout_s": "per child process, in seconds",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `calibrate` subcommand's flags, description and examples."""
    describe(
        parser,
        "Measure each device's achievable matmul throughput per framework (square matmuls, "
        "2·n³ FLOPs, warm-up, device-synced timing, each framework x device in a child process): "
        "FP32 on CPUs, FP32/TF32/BF16/FP16 on GPUs. Writes <out>/<host>-<time>.json and "
        "latest.json, and the same two files to this user's per-host folder, where `bench run` "
        "finds them for mfu_calibrated whatever its --out.",
        [
            ("bench calibrate", "every framework on every device, the default sizes"),
            ("bench calibrate --frameworks torch --devices cpu --threads 1,2", "two counts"),
        ],
    )
    from bench.core.rules import default_text, rules
    from bench.core.settings import Sweep

    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        metavar=many("NAME"),
        help=", ".join(FRAMEWORKS) + " (Keras on TensorFlow)",
    )
    parser.add_argument(
        "--devices",
        default=default_text(rules(Sweep)["devices"], flag=True),
        metavar=many("NAME"),
        help="auto, cpu, cuda (every GPU) or cuda:N, as in [sweep] devices",
    )
    parser.add_argument(
        "--sizes", metavar=many("N"), help="matrix sizes (default: 1024,2048 CPU; 4096,8192 GPU)"
    )
    parser.add_argument(
        "--dtypes", metavar=many("NAME"), help=f"{', '.join(DTYPES)} (default: fp32 CPU; all GPU)"
    )
    for field in fields(Settings):
        if field.name == "threads":
            continue
        parser.add_argument(
            FLAGS.get(field.name, "--" + field.name.replace("_", "-")),
            dest=field.name,
            type=type(field.default),
            default=field.default,
            help=_HELP[field.name],
            metavar="N" if isinstance(field.default, int) else "X",
        )
    parser.add_argument(
        "--threads",
        metavar=many("N"),
        help="CPU threads, as in run: the CPU is measured at each count, a GPU once with the "
        "largest (default: the physical core count)",
    )
    deprecate(parser, "--repeats", "--batches", "repeats", type=int)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="folder of the documents"
    )


def main(args: argparse.Namespace) -> int:
    """Run `calibrate` from parsed flags; 0 if every row is ok or skipped, else 1."""
    from bench.hardware import devices as devices_mod
    from bench.hardware.nvml import Nvml

    nvml = Nvml.load()
    try:
        try:
            chosen = devices_mod.resolve(_csv(args.devices) or [], devices_mod.discover(nvml))
        except ValueError as exc:
            raise UsageError(f"calibrate: --devices: {exc}") from None
        given = {f.name: getattr(args, f.name) for f in fields(Settings) if f.name != "threads"}
        threads = _csv(args.threads, int)
        settings = Settings(**given, threads=tuple(threads) if threads is not None else None)
        frameworks = choose(args.frameworks, FRAMEWORKS, "calibrate: --frameworks", hints=HINTS)
        sizes = _csv(args.sizes, int)
        rows = calibrate(
            frameworks,
            chosen,
            sizes,
            args.out,
            settings,
            dtypes=_csv(args.dtypes),
            nvml=nvml,
            echo=print,
        )
    finally:
        if nvml is not None:
            nvml.shutdown()
    print(f"calibration: {args.out / 'latest.json'}")
    return 0 if all(r["status"] in ("ok", "skipped") for r in rows) else 1
