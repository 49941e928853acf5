"""`python -m bench devices`: the devices `devices = ["auto"]` would use (NVML, no framework)."""

from __future__ import annotations

import argparse


def devices(args: argparse.Namespace) -> int:
    from bench.hardware import devices as devices_mod

    print(devices_mod.format_table(devices_mod.discover()))
    return 0
