"""A trial's child process: `python -m bench.trial TRIAL.json EVENTS.jsonl SPAWN_T`.

The first line of Python takes the time, so that the `spawn` phase (the parent's Popen → here)
covers interpreter start-up; the `harness` phase is this process's own set-up (reading the
trial, the memory probe), kept apart so that it is not charged to the framework's `import`.
Then the runner's phases run in order, each ended by the clock.
Results go to EVENTS.jsonl, one JSON object per line, flushed outside timed intervals; stdout and
stderr are the trial's log. Exit code 0 means a `done` event was written; 1 means an `error`
event (status `failed` or `oom`) was written, with the traceback in the log.
"""

import time

T0 = time.monotonic()

import json  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def run(trial_path: str, events_path: str, spawn_t: float) -> int:
    from bench.clock import Clock
    from bench.memory import host_peak_probe
    from bench.plan import Trial
    from bench.runners.base import is_oom, make_runner

    trial = Trial.from_json(json.loads(Path(trial_path).read_text()))
    with open(events_path, "a", encoding="utf-8") as sink:

        def emit(event: dict[str, Any]) -> None:
            sink.write(json.dumps(event) + "\n")
            sink.flush()

        runner = make_runner(trial)
        virtual = runner.time_fn is not None
        clock = Clock(
            origin=0.0 if virtual else spawn_t,
            start=runner.time_fn() if virtual else T0,
            sync=lambda: runner.sync(),
            emit=emit,
            host_peak=host_peak_probe(),
            steps_per_epoch=trial.steps_per_epoch,
            batch_size=trial.batch_size,
            **({"time_fn": runner.time_fn} if virtual else {}),
        )
        try:
            clock.mark("harness")
            clock.note({"event": "framework", "version": runner.import_framework()})
            clock.mark("import")
            runner.init_device()
            clock.mark("device_init")
            clock.set_device_peaks(runner.device_peaks())
            runner.make_data()
            clock.mark("data")
            trainable, non_trainable = runner.build()
            clock.mark("build")
            clock.note({"event": "params", "trainable": trainable, "non_trainable": non_trainable})
            runner.compile()
            clock.note({"event": "settings", "values": runner.settings()})
            runner.fit(clock)
            clock.note({"event": "stats", **runner.stats()})
        except BaseException as exc:  # recorded, then re-reported through the exit code
            clock.flush()
            traceback.print_exc()
            message = f"{type(exc).__name__}: {exc}".strip().splitlines()
            emit(
                {
                    "event": "error",
                    "status": "oom" if is_oom(exc) else "failed",
                    "error": " ".join(message),
                }
            )
            return 1
        clock.flush()
        emit({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2], float(sys.argv[3])))
