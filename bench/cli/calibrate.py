"""`python -m bench calibrate`: flags → `bench.hardware.calibrate.calibrate` on the chosen devices.

The measuring (one child per framework × device) and the calibration document live in
`bench.hardware.calibrate`; this module only turns the command line into its arguments.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.cli.flags import deprecate
from bench.errors import UsageError
from bench.hardware.calibrate import DEFAULT_OUT, DTYPES, Settings, calibrate


def _csv(text: str | None, kind: type = str) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UsageError(f"calibrate: bad list {text!r}: {exc}") from None


# A flag whose Settings field name means something else elsewhere (run --repeats = processes).
FLAGS = {"repeats": "--batches"}
_HELP = {
    "repeats": "timed batches per size",
    "warmup": "untimed matmuls first",
    "warmup_s": "and at least this many seconds of them",
    "min_batch_s": "shortest timed batch",
    "threads": "CPU threads",
    "timeout_s": "per child process",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `calibrate` subcommand's flags."""
    parser.add_argument("--frameworks", default="torch,keras", metavar="A,B", help="torch, keras")
    parser.add_argument("--devices", default="auto", metavar="A,B", help="auto, cpu, cuda:N")
    parser.add_argument(
        "--sizes", metavar="N,M", help="matrix sizes (default: 1024,2048 CPU; 4096,8192 GPU)"
    )
    parser.add_argument(
        "--dtypes", metavar="A,B", help=f"{', '.join(DTYPES)} (default: fp32 CPU; all GPU)"
    )
    for field in fields(Settings):
        kind = int if field.default is None else type(field.default)
        flag = FLAGS.get(field.name, "--" + field.name.replace("_", "-"))
        help_text = _HELP[field.name] + (
            " (default: physical cores)" if field.default is None else ""
        )
        meta = field.name.upper() if flag.endswith(field.name.replace("_", "-")) else "N"
        parser.add_argument(
            flag, dest=field.name, type=kind, default=field.default, help=help_text, metavar=meta
        )
    deprecate(parser, "--repeats", "--batches", "repeats", type=int)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of the documents")


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
        settings = Settings(**{f.name: getattr(args, f.name) for f in fields(Settings)})
        frameworks, sizes = _csv(args.frameworks) or [], _csv(args.sizes, int)
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
