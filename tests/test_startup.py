"""`bench --help` starts quickly (issue 32): it imports argparse, the command table and the
command line's conventions — no subcommand's module, no settings, no hardware, nothing heavy
(`importlib.metadata` alone was ~45 ms). Checked with `sys.modules` in a fresh
interpreter, against what it had before; no timing is asserted (the machine is shared).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

#: The project's modules `bench --help` may import, and nothing more (`bench/__main__.py` itself
#: runs as `__main__`).
HELP_MODULES = {"bench", "bench.cli", "bench.cli.flags", "bench.errors"}
#: Modules that must wait for the command that needs them.
HEAVY = (
    "importlib.metadata",
    "numpy",
    "pandas",
    "torch",
    "tensorflow",
    "keras",
    "jax",
    "rich",
    "psutil",
    "pynvml",
    "platformdirs",
    "tomllib",
    "typing",
    "dataclasses",
    "difflib",
    "subprocess",
    "concurrent.futures",
    "analysis",
    "models",
)


#: Runs `python -m bench ARGV` as the interpreter would (runpy), then lists `sys.modules` on its
#: last line. `-X importtime` would not do: it misses `importlib.import_module`'s imports.
CHILD = """
import json, runpy, sys
before = set(sys.modules)
sys.argv = ["bench", *json.loads(sys.argv[1])]
if sys.argv[1:] != ["--nothing"]:
    try:
        runpy.run_module("bench", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
print("\\n" + json.dumps(sorted(set(sys.modules) - before)))
"""


def imported(*argv: str) -> set[str]:
    """The modules a fresh `python -m bench ARGV` imports."""
    import json

    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], []], ids=["--help", "bare"])
def test_help_imports_only_the_command_table(argv: list[str]) -> None:
    new = imported(*argv) - imported("--nothing")
    ours = {m for m in new if m.split(".")[0] in ("bench", "analysis", "models")}
    assert ours == HELP_MODULES
    heavy = sorted(m for m in new if m.startswith(HEAVY))
    assert not heavy, f"bench --help imports {heavy}"


def test_a_subcommands_help_imports_only_its_own_flags() -> None:
    new = imported("devices", "--help")
    assert "bench.cli.devices" in new
    assert not {"bench.cli.run_flags", "bench.cli.doctor", "bench.hardware.devices"} & new
