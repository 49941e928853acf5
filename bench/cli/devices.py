"""`python -m bench devices`: the devices `devices = ["auto"]` would use (NVML, no framework);
with `CUDA_VISIBLE_DEVICES` set, only the GPUs it makes visible, and a line saying so."""

from __future__ import annotations

import argparse
import os


def devices(args: argparse.Namespace) -> int:
    from bench.hardware import devices as devices_mod

    print(devices_mod.format_table(devices_mod.discover()))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        print(f"(GPUs limited by CUDA_VISIBLE_DEVICES={visible!r})")
    return 0
