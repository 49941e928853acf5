"""`python -m bench selfcheck`: does the harness change what it measures?

For each framework, the same trial (model, data, batch size, threads, optimizer) runs as a bare
hand-written loop (`bench.bare`) and through the harness (`bench.trial`), each in a fresh
process, alternating which goes first, for several rounds. It prints the steady-state epoch time
(median of epochs 2..E) of both and their ratio; the target is ≤ 1.02.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import config as config_mod
from bench.devices import cpu_device
from bench.launch import child_env, run_trial
from bench.plan import Trial, plan
from bench.sweep import default_threads, missing_framework

TARGET = 1.02


def _steady(epoch_s: list[float]) -> float:
    return statistics.median(epoch_s[1:])


def _bare(trial: Trial, work: Path) -> float:
    trial_json, out = work / "bare-trial.json", work / "bare-out.json"
    trial_json.write_text(json.dumps(trial.to_json()))
    with open(work / "bare.log", "wb") as log:
        subprocess.run(
            [sys.executable, "-m", "bench.bare", str(trial_json), str(out)],
            env=child_env(trial, work / "cache"),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=trial.timeout_s,
        )
    return _steady(json.loads(out.read_text())["epoch_s"])


def _harness(trial: Trial, work: Path) -> float:
    outcome = run_trial(trial, work / "harness", work / "harness.log")
    if outcome.status != "ok":
        raise RuntimeError(f"harness trial {outcome.status}: {outcome.error}")
    return _steady([e["wall_s"] for e in outcome.events if e["event"] == "epoch"])


def _trial(args: argparse.Namespace, framework: str) -> Trial:
    overrides = {
        "sweep": {
            "frameworks": [framework],
            "models": [args.model],
            "devices": ["cpu"],
            "batch_sizes": [args.batch_size],
            "threads": [args.threads or default_threads()],
        },
        "train": {"epochs": args.epochs, "samples": args.samples},
    }
    cfg = config_mod.load(None, overrides, ["selfcheck flags"])
    return plan(cfg, [cpu_device()], default_threads())[0]


def selfcheck(args: argparse.Namespace) -> int:
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    verdicts = []
    for framework in frameworks:
        if why := missing_framework(framework):
            print(f"{framework}: skipped — {why}")
            continue
        trial = _trial(args, framework)
        bare, harness = [], []
        for r in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="bench-selfcheck-") as tmp:
                work = Path(tmp)
                first, second = (_bare, _harness) if r % 2 == 0 else (_harness, _bare)
                for fn in (first, second):
                    (bare if fn is _bare else harness).append(fn(trial, work))
            print(
                f"{framework} round {r + 1}: bare {bare[-1]:.4f} s, harness {harness[-1]:.4f} s",
                flush=True,
            )
        ratio = statistics.median(harness) / statistics.median(bare)
        verdicts.append(ratio <= TARGET)
        print(
            f"{framework}: {trial.model}, batch {trial.batch_size}, {trial.threads} threads, "
            f"{trial.steps_per_epoch} steps/epoch — steady epoch bare "
            f"{statistics.median(bare):.4f} s, harness {statistics.median(harness):.4f} s, "
            f"ratio {ratio:.3f} ({'within' if ratio <= TARGET else 'ABOVE'} target {TARGET})"
        )
    return 0 if all(verdicts) else 1
