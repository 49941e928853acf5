"""Benchmark (not a test): the first commands a new user runs, each beside its baseline.

    .venv/bin/python scripts/bench_startup.py [--rounds 15] [--doctor-rounds 3]

Arms run interleaved (A, B, A, B, …: the machine's drift hits both), each in a fresh process,
and the medians are printed with their ratio:

- `python -m bench --help` against `python -c pass` (the interpreter's own start);
- `python -m bench devices` and `python -m bench run --dry-run` against the same baseline;
- `python -m bench doctor` against its floor: the slowest framework import it must do in a probe
  (`import keras` on TensorFlow, in a fresh process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def side_by_side(name: str, arm: list[str], base: list[str], rounds: int, env=None) -> None:
    a, b = [], []
    for _ in range(rounds):
        b.append(timed(base, env))
        a.append(timed(arm, env))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<34} {ma:8.3f} s  baseline {mb:8.3f} s  ratio {ma / mb:5.2f}×  ({rounds} pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--doctor-rounds", type=int, default=3)
    args = parser.parse_args()
    bare = [PY, "-c", "pass"]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    side_by_side("bench --help", [PY, "-m", "bench", "--help"], bare, args.rounds)
    side_by_side("bench devices", [PY, "-m", "bench", "devices"], bare, args.rounds)
    dry = [PY, "-m", "bench", "run", "--dry-run"]
    side_by_side("bench run --dry-run", dry, bare, args.rounds)
    keras_tf = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    floor = [PY, "-c", "import keras"]
    doctor = [PY, "-m", "bench", "doctor"]
    side_by_side("bench doctor (floor: import keras)", doctor, floor, args.doctor_rounds, keras_tf)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
