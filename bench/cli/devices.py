"""`python -m bench devices`: the devices `devices = ["auto"]` would use (NVML, no framework);
with `CUDA_VISIBLE_DEVICES` set, only the GPUs it makes visible, and a line saying so; with no
GPU at all, a `no GPU: <why> — <fix>` line per reason (`bench.hardware.nogpu`)."""

from __future__ import annotations

import argparse
import os

from bench.cli.flags import describe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`devices` takes no flags: its description and examples."""
    describe(
        parser,
        'List the devices that devices = ["auto"] uses: the CPU (model, cores, RAM) and each '
        "CUDA GPU or MIG slice that CUDA_VISIBLE_DEVICES lets it use (name, memory, UUID, driver, "
        "CUDA), found through NVML without importing a framework; ROCm and Apple GPUs through a "
        "torch probe child. Where there is no GPU, one line per reason says why, and the fix.",
        [
            ("bench devices", "what bench can run on here"),
            ("CUDA_VISIBLE_DEVICES=1 bench devices", "what a run limited to GPU 1 would use"),
        ],
    )


def devices(args: argparse.Namespace) -> int:
    from bench.hardware import devices as devices_mod

    found = devices_mod.discover()
    print(devices_mod.format_table(found))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if all(d.kind == "cpu" for d in found):
        from bench.hardware.nogpu import reasons_here

        for reason in reasons_here() or ["no NVIDIA, ROCm or Apple GPU found"]:
            print(f"no GPU: {reason}")
    elif visible is not None:
        print(f"(GPUs limited by CUDA_VISIBLE_DEVICES={visible!r})")
    return 0
