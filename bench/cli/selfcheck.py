"""`python -m bench selfcheck`: does the harness change what it measures?

For each framework, the same trial (model, data, batch size, threads, optimizer) runs as a bare
hand-written loop (`bench.trial.bare`), through the harness (`bench.trial`) with its background
sampler and step recording, through the harness without the sampler, and without step
recording (`[monitor] steps = false`) — each in a fresh process, rotating which goes first, for
several rounds. It prints the steady-state epoch times (median of epochs 2..E) and three
ratios: harness / bare (target ≤ 1.02), sampler on / off and steps on / off (what each costs),
and the cost of marking one step, timed directly (`step_cost`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cli.flags import choose, deprecate, describe, many

if TYPE_CHECKING:
    from bench.contract.trial import Trial

TARGET = 1.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `selfcheck` subcommand's flags (defaults from the settings' declarations where they
    are the same setting), description and examples."""
    from bench.core.rules import default_text, rules
    from bench.core.settings import Sweep, Train

    sweep, train = rules(Sweep), rules(Train)
    describe(
        parser,
        "Does the harness change what it measures? Per framework, model, batch size and thread "
        "count, the same trial runs as a bare hand-written loop, through the harness, through "
        "the harness without its sampler and without step recording, each in a fresh process, "
        "for several rounds in rotating order. Prints the steady-epoch times, the harness/bare "
        f"ratio (target ≤ {TARGET}; exit 1 above it), the sampler's and step recording's "
        "overhead, and what marking one step costs.",
        [
            ("bench selfcheck", "torch and keras, seed_cnn, batch 64"),
            ("bench selfcheck --frameworks numpy --threads 1,2 --rounds 5", "numpy, two counts"),
        ],
    )
    parser.add_argument(
        "--frameworks",
        metavar=many("NAME"),
        default=default_text(sweep["frameworks"], flag=True),
        help="torch, keras, numpy",
    )
    parser.add_argument(
        "--models", metavar=many("NAME"), default="seed_cnn", help="each is checked"
    )
    parser.add_argument(
        "--batch-sizes",
        metavar=many("N"),
        default=default_text(sweep["batch_sizes"], flag=True),
        help="each is checked",
    )
    for name in ("samples", "epochs"):
        parser.add_argument(
            f"--{name}",
            type=int,
            metavar="N",
            default=train[name].default,
            help=f"[train] {name}: {train[name].doc}",
        )
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="bare/harness pairs")
    parser.add_argument(
        "--threads",
        metavar=many("N"),
        help="CPU threads per trial, as in run: each is checked "
        f"(default: {sweep['threads'].unset})",
    )
    deprecate(parser, "--model", "--models", "models")
    deprecate(parser, "--batch-size", "--batch-sizes", "batch_sizes")


def _steady(epoch_s: list[float]) -> float:
    return statistics.median(epoch_s[1:])


def _bare(trial: Trial, work: Path) -> float:
    from bench.launchers.local import child_env

    work.mkdir(parents=True, exist_ok=True)
    trial_json, out = work / "bare-trial.json", work / "bare-out.json"
    trial_json.write_text(json.dumps(trial.to_json()))
    with open(work / "bare.log", "wb") as log:
        subprocess.run(
            [sys.executable, "-m", "bench.trial.bare", str(trial_json), str(out)],
            env=child_env(trial, work / "cache"),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=trial.timeout_s,
        )
    return _steady(json.loads(out.read_text())["epoch_s"])


def _harness(trial: Trial, work: Path) -> float:
    from bench.launchers.local import run_trial

    work.mkdir(parents=True, exist_ok=True)
    outcome = run_trial(trial, work / "harness", work / "harness.log")
    if outcome.status != "ok":
        raise RuntimeError(f"harness trial {outcome.status}: {outcome.error}")
    return _steady([e["wall_s"] for e in outcome.events if e["event"] == "epoch"])


def _csv(text: str, kind: type = str) -> list:
    values = [v.strip() for v in str(text).split(",") if v.strip()]
    try:
        return [kind(v) for v in values]
    except ValueError:
        return values  # left for the config's rule to reject, naming the key


def _trials(args: argparse.Namespace, framework: str) -> list[Trial]:
    """One trial per model × batch size × thread count, as `bench run` plans them on the CPU."""
    from bench.core import config as config_mod
    from bench.core.plan import plan
    from bench.hardware.devices import cpu_device, default_threads

    overrides = {
        "sweep": {
            "frameworks": [framework],
            "models": _csv(args.models),
            "devices": ["cpu"],
            "batch_sizes": _csv(args.batch_sizes, int),
            "threads": _csv(args.threads, int) if args.threads else [default_threads()],
            "repeats": 1,  # --rounds repeats each arm; the sweep's repeats would redo it all
        },
        "train": {"epochs": args.epochs, "samples": args.samples},
    }
    cfg = config_mod.load(None, overrides, ["selfcheck flags"])
    return plan(cfg, [cpu_device()], default_threads())


def _arms(trial: Trial) -> dict[str, Callable[[Path], float]]:
    quiet = dataclasses.replace(trial, monitor_interval_s=None)
    return {
        "bare": lambda work: _bare(trial, work),
        "harness": lambda work: _harness(trial, work),
        "no sampler": lambda work: _harness(quiet, work),
        "no steps": lambda work: _harness(dataclasses.replace(trial, record_steps=False), work),
    }


def step_cost(marks: int = 200_000) -> float:
    """Seconds one `clock.step_done()` costs with host step timing (a time read and an append:
    what a CPU trial, and Keras's batch callback, add per step), the best of 5 timings."""
    from bench.trial.clock import Clock, HostSteps

    class Peak:
        source = "none"

        def reset(self) -> None: ...
        def peak(self) -> None: ...

    clock = Clock(
        origin=0.0, start=0.0, sync=lambda: None, emit=lambda e: None, host_peak=Peak(),
        steps_per_epoch=marks, batch_size=1, steps=HostSteps(time.monotonic),
    )  # fmt: skip
    best = float("inf")
    for _ in range(5):
        clock.start_training()
        start = time.perf_counter()
        for _ in range(marks):
            clock.step_done()
        best = min(best, (time.perf_counter() - start) / marks)
    return best


def _rounds(trial: Trial, rounds: int) -> dict[str, list[float]]:
    arms = _arms(trial)
    names = list(arms)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
        with tempfile.TemporaryDirectory(prefix="bench-selfcheck-") as tmp:
            for name in order:
                times[name].append(arms[name](Path(tmp) / name.replace(" ", "_")))
        line = ", ".join(f"{n} {times[n][-1]:.4f} s" for n in names)
        print(f"{trial.framework} round {r + 1}: {line}", flush=True)
    return times


def selfcheck(args: argparse.Namespace) -> int:
    from bench.core.settings import FRAMEWORK_HINTS, FRAMEWORKS
    from bench.core.sweep import missing_framework

    frameworks = choose(
        args.frameworks, FRAMEWORKS, "selfcheck: --frameworks", hints=FRAMEWORK_HINTS
    )
    verdicts = []
    for framework in frameworks:
        if why := missing_framework(framework):
            print(f"{framework}: skipped — {why}")
            continue
        for trial in _trials(args, framework):
            verdicts.append(_check(trial, args.rounds))
    return 0 if all(verdicts) else 1


def _check(trial: Trial, rounds: int) -> bool:
    """Run the arms for one trial; print the verdict; whether the harness is within target."""
    med = {k: statistics.median(v) for k, v in _rounds(trial, rounds).items()}
    ratio = med["harness"] / med["bare"]
    sampler = med["harness"] / med["no sampler"]
    steps = med["harness"] / med["no steps"]
    mark = step_cost()
    per_step = med["harness"] / trial.steps_per_epoch
    print(
        f"{trial.framework}: {trial.model}, batch {trial.batch_size}, "
        f"{trial.threads} thread{'' if trial.threads == 1 else 's'}, "
        f"{trial.steps_per_epoch} steps/epoch — steady epoch bare {med['bare']:.4f} s, "
        f"harness {med['harness']:.4f} s, without sampler {med['no sampler']:.4f} s; "
        f"harness/bare {ratio:.3f} ({'within' if ratio <= TARGET else 'ABOVE'} target "
        f"{TARGET}), sampler on/off {sampler:.3f}, steps on/off {steps:.3f}; marking a step "
        f"costs {mark * 1e6:.2f} µs = {mark / per_step:.4%} of a steady step"
    )
    return ratio <= TARGET
