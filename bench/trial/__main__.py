"""A trial's child process: `python -m bench.trial TRIAL.json EVENTS.jsonl SPAWN_T`.

The first line of Python takes the time, so that the `spawn` phase (the parent's Popen → here)
covers interpreter start-up; the `harness` phase is this process's own set-up (reading the
trial, the memory probe), kept apart so that it is not charged to the framework's `import`.
Then the runner's phases run in order, each ended by the clock.
Results go to EVENTS.jsonl, one JSON object per line, flushed outside timed intervals; stdout and
stderr are the trial's log. Exit code 0 means a `done` event was written; 1 means an `error`
event (status `failed` or `oom`) was written, with the traceback in the log.
"""

from __future__ import annotations

import time

T0 = time.monotonic()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from bench.contract.trial import Trial
    from bench.runners.base import Runner
    from bench.trial.clock import Clock
    from bench.trial.energy import EnergyMeter

Emit = Callable[[dict[str, Any]], None]


def _with_nvml_peak(event: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    """Add the epoch's peak NVML per-process memory to its memory sources: the largest reading
    of the samples taken within the epoch's own clock window, [start_s, start_s + wall_s] (the
    samples' `t_s` and the event's `start_s` share the spawn-time origin). Samples drained with
    the event but taken before it started (set-up, the previous epoch's validation) or after it
    ended do not count; without a sample inside the window the source is left out."""
    start = event["start_s"]
    end = start + event["wall_s"]
    used = [
        s["gpu_process_memory_bytes"]
        for s in samples
        if start <= s["t_s"] <= end and s["gpu_process_memory_bytes"] is not None
    ]
    if used:
        event["memory"]["nvml_process_used"] = max(used)


def run(trial_path: str, events_path: str, spawn_t: float) -> int:
    from bench.contract.trial import Trial
    from bench.hardware.nvml import Nvml
    from bench.runners.base import make_runner
    from bench.trial.energy import EnergyMeter
    from bench.trial.noise import NoiseProbe
    from bench.trial.sampler import Sampler

    trial = Trial.from_json(json.loads(Path(trial_path).read_text()))
    runner = make_runner(trial)
    virtual = runner.time_fn is not None
    # UUIDs where NVML gave them: NVML's handles for exactly this process's GPUs (a Keras
    # data-parallel trial's every GPU: energy summed over their boards, readings combined).
    gpus = trial.gpu_keys
    nvml = Nvml.load() if gpus else None
    energy = EnergyMeter.detect(nvml, gpus)
    sampler = None
    if trial.monitor_interval_s and not virtual:
        # A data-parallel rank's own tree is one rank: its noise probe counts the supervisor's
        # (every rank), so that the other ranks' CPU use is not "other processes".
        noise = NoiseProbe(os.getppid()) if trial.launches_ranks else None
        sampler = Sampler(
            trial.monitor_interval_s, nvml, gpus, origin=spawn_t, on_tick=energy.poll, noise=noise
        )
        sampler.start()
    with open(events_path, "a", encoding="utf-8") as sink:

        def write(event: dict[str, Any]) -> None:
            sink.write(json.dumps(event) + "\n")

        def emit(event: dict[str, Any]) -> None:
            samples = sampler.drain() if sampler is not None and event["event"] == "epoch" else []
            if samples:
                _with_nvml_peak(event, samples)
            write(event)
            for row in samples:
                write({"event": "sample", **row})
            sink.flush()

        try:
            return _protocol(runner, _clock(trial, runner, spawn_t, emit, energy), emit)
        finally:
            for row in sampler.stop() if sampler is not None else []:
                write({"event": "sample", **row})
            sink.flush()
            if nvml is not None:
                nvml.shutdown()


def _clock(trial: Trial, runner: Runner, spawn_t: float, emit: Emit, energy: EnergyMeter) -> Clock:
    """The harness's clock for this trial: real time from the spawn, or the fake runner's."""
    from bench.trial.clock import Clock, HostSteps
    from bench.trial.memory import host_peak_probe

    virtual = runner.time_fn is not None
    now = runner.time_fn if runner.time_fn is not None else time.monotonic
    return Clock(
        origin=0.0 if virtual else spawn_t,
        start=runner.time_fn() if virtual else T0,
        sync=lambda: runner.sync(),
        emit=emit,
        host_peak=host_peak_probe(),
        steps_per_epoch=trial.steps_per_epoch,
        batch_size=trial.global_batch_size,  # an epoch's samples are every replica's
        energy=energy,
        steps=HostSteps(now) if trial.record_steps else None,
        **({"time_fn": runner.time_fn} if virtual else {}),
    )


def _protocol(runner: Runner, clock: Clock, emit: Emit) -> int:
    """The runner's phases in order, each ended by the clock; 0 done, 1 an error recorded."""
    from bench.runners.base import dataset_event, is_oom

    try:
        clock.mark("harness")
        clock.note({"event": "framework", "version": runner.import_framework()})
        clock.mark("import")
        runner.init_device()
        clock.mark("device_init")
        device_steps = getattr(runner, "step_timer", None)  # a GPU's own clock for steps.csv
        if clock.records_steps and device_steps is not None and (timer := device_steps()):
            clock.set_step_timer(timer)
        if (init_distributed := getattr(runner, "init_distributed", None)) is not None:
            init_distributed()  # a data-parallel rank: rendezvous, process group
            clock.mark("dist_init")
            if (barrier := getattr(runner, "barrier", None)) is not None:  # ranks: processes
                clock.set_barrier(barrier)
        clock.set_device_peaks(runner.device_peaks())
        runner.make_data()
        clock.mark("data")
        clock.note(dataset_event(runner))
        trainable, non_trainable = runner.build()
        clock.mark("build")
        clock.note({"event": "params", "trainable": trainable, "non_trainable": non_trainable})
        if (wrap := getattr(runner, "wrap", None)) is not None:
            wrap()  # DistributedDataParallel: parameter broadcast, gradient buckets
            clock.mark("wrap")
        runner.compile()
        clock.note({"event": "settings", "values": runner.settings()})
        runner.fit(clock)
        clock.note({"event": "stats", **runner.stats()})
    except BaseException as exc:  # recorded, then re-reported through the exit code
        clock.flush()
        traceback.print_exc()
        message = " ".join(f"{type(exc).__name__}: {exc}".strip().splitlines())
        status = "oom" if is_oom(exc) else "failed"
        emit({"event": "error", "status": status, "error": message, "at": time.monotonic()})
        return 1
    clock.flush()
    emit({"event": "done"})
    return 0


if __name__ == "__main__":
    from bench.contract.lifetime import die_with_parent

    die_with_parent()  # a killed `bench run` leaves no trial running
    sys.exit(run(sys.argv[1], sys.argv[2], float(sys.argv[3])))
