"""Every step on the record: steps.csv, its per-step figures and the step-based overhead.

The figures' one definition (`bench.contract.steps`) on scripted traces whose answer is known —
when the step time settles and what epoch 1's first steps cost over the steady median; the clock's
step timers (host timestamps, device events) without a framework; the fake runner end to end
(steps.csv rows, trials.csv's figures equal to their scripted values, the report's Steps section
and figure, `compare`'s step-based row, an older folder without steps.csv); and on a simulated
resnet18-like case the step-based interval is at least 5× narrower than "first − steady
epoch"'s.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.contract.steps import quantile, settle, step_figures
from bench.trial.clock import Clock, HostSteps

STEADY = {e: [0.1] * 10 for e in range(2, 6)}  # every steady step 0.1 s: p50 = p90 = 0.1


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
def test_quantile_is_numpys_linear(q: float) -> None:
    values = sorted(np.random.default_rng(3).standard_normal(37).tolist())
    assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)))


@pytest.mark.parametrize(
    ("first", "unsettled", "overhead"),
    [
        ([0.5] + [0.1] * 9, 1, 0.4),  # a slow first step, then steady
        ([0.5, 0.3, 0.2] + [0.1] * 7, 3, 0.7),  # a warm-up tail of three steps
        ([0.5, 0.1, 0.3] + [0.1] * 7, 3, 0.6),  # one fast step between slow ones is not settled
        ([0.1] * 10, 0, 0.0),  # steady from the start
        ([0.5] + [0.1] * 4 + [0.9] + [0.1] * 4, 1, 0.4),  # a later spike, once settled, is noise
        ([0.2] * 10, 10, 1.0),  # never settles: all of epoch 1 counts
        ([0.5, 0.2, 0.1], 2, 0.5),  # near the end the run may be shorter than 3
    ],
)
def test_a_scripted_trace_has_its_known_overhead(first, unsettled, overhead) -> None:
    figures = step_figures({1: first, **STEADY})
    assert figures["settle_steps"] == unsettled
    assert figures["step_overhead_s"] == pytest.approx(overhead)
    assert figures["step_p50_s"] == figures["step_p90_s"] == pytest.approx(0.1)


def test_settling_is_judged_against_the_steady_bands_top() -> None:
    rng = np.random.default_rng(0)
    steady = {e: (0.1 + 0.01 * rng.standard_normal(50)).tolist() for e in range(2, 7)}
    figures = step_figures({1: [0.6, *steady[2][:49]], **steady})
    assert figures["settle_steps"] in (1, 2)  # the first step; rarely one more of noise
    assert figures["step_overhead_s"] == pytest.approx(0.5, abs=0.02)
    assert 0.008 < figures["step_stdev_s"] < 0.012
    assert figures["step_p50_s"] < figures["step_p90_s"] < figures["step_p99_s"]
    assert settle([0.2, 0.2], top=0.1) == 2 and settle([], top=0.1) == 0


def test_no_steady_steps_no_figures() -> None:
    assert set(step_figures({1: [0.3, 0.1]}).values()) == {None}


def test_host_steps_close_the_last_step_at_the_epochs_end() -> None:
    now = iter([1.0, 1.5, 2.5])
    timer = HostSteps(lambda: next(now))
    timer.begin(0.0)
    timer.step()  # a loop that marks every step: its own stamps
    timer.step()
    timer.step()
    assert timer.walls(9.0, 3) == [1.0, 0.5, 1.0]
    timer.begin(0.0)  # Keras marks a step at the next one's start: the last ends at epoch end
    assert HostSteps(lambda: 1.0).walls(4.0, 1) == []  # never begun: nothing to say
    assert timer.walls(4.0, 2) == [4.0]


class FakeEvent:
    """torch.cuda.Event's shape: record() stamps a fake device clock; elapsed_time in ms."""

    clock = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing
        self.at = None

    def record(self) -> None:
        FakeEvent.clock += 2.0
        self.at = FakeEvent.clock

    def elapsed_time(self, end: FakeEvent) -> float:
        return (end.at - self.at) * 1000


def test_device_steps_read_events_at_the_epochs_end_and_reuse_them() -> None:
    from bench.runners.torch_device import DeviceSteps, step_timer

    timer = DeviceSteps(FakeEvent)
    for _ in range(2):  # two epochs: the events are reused, not created per step
        timer.begin(0.0)
        for _ in range(3):
            timer.step()
        assert timer.walls(0.0, 3) == [2.0, 2.0, 2.0]
    assert len(timer._events) == 4
    fake_torch = type("T", (), {"cuda": type("C", (), {"Event": FakeEvent})})
    assert isinstance(step_timer(fake_torch, "cuda"), DeviceSteps)
    assert step_timer(fake_torch, "cpu") is None


def test_the_clock_emits_each_epochs_steps_without_a_sync_per_step() -> None:
    log: list[str] = []
    emitted: list[dict] = []
    times = iter([1.0, 1.2, 1.3, 1.5, 1.5, 2.0, 2.1, 2.2])

    class Probe:
        source = "p"

        def reset(self) -> None: ...
        def peak(self) -> int:
            return 1

    def now() -> float:
        return next(times)

    clock = Clock(
        origin=0.0, start=0.0, sync=lambda: log.append("sync"), emit=emitted.append,
        host_peak=Probe(), steps_per_epoch=2, batch_size=1, time_fn=now, steps=HostSteps(now),
    )  # fmt: skip
    clock.start_training()  # compile ends at 1.0
    clock.step_done()  # 1.2
    clock.first_step_done()  # 1.3
    clock.step_done()  # 1.5
    syncs = log.count("sync")
    clock.epoch_end(0.5)  # 1.5
    assert log.count("sync") == syncs + 1  # the epoch's end syncs; steps never do
    clock.epoch_begin()  # 2.0
    clock.step_done()  # 2.1
    clock.epoch_end(0.4)  # 2.2: the unmarked last step ends here
    steps = [e for e in emitted if e["event"] == "steps"]
    assert [(s["epoch"], s["wall_s"]) for s in steps] == [(1, [0.2, 0.3]), (2, [0.1, 0.1])]


@pytest.fixture(scope="module")
def fake_runs(tmp_path_factory):
    """Two fake runs: a scripted first step of 0.5 s over steady steps of 0.1 s (the second
    run's first step slower), 10 steps an epoch, 4 repeats each."""
    out = tmp_path_factory.mktemp("steps")
    runs = []
    for name, first in (("base", 0.5), ("slow", 0.8)):
        done = run_cli(
            "run", "--frameworks", "fake", "--models", "seed_ffnn", "--batch-sizes", "64",
            "--samples", "640", "--epochs", "4", "--repeats", "4", "--set", "sweep.warmup=0",
            "--set", f"fake.first_step_s={first}", "--set", f"fake.epoch_s={first + 0.9},1.0",
            "--name", name, "--no-report", "-q", "--out", str(out / name),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        runs.append(only_run_dir(out / name))
    return runs


def test_fake_steps_are_every_step_with_the_scripted_overhead(fake_runs) -> None:
    run = fake_runs[0]
    steps = read_csv(run / "steps.csv")
    trials = read_csv(run / "trials.csv")
    assert len(steps) == len(trials) * 4 * 10  # trials × epochs × steps
    for t in trials:
        assert float(t["step_p50_s"]) == pytest.approx(0.1)
        assert float(t["step_overhead_s"]) == pytest.approx(0.4, abs=1e-8)
        assert t["settle_steps"] == "1"
        assert float(t["first_epoch_overhead_s"]) == pytest.approx(0.4)
    mine = [s for s in steps if s["trial_id"] == trials[0]["trial_id"] and s["epoch"] == "1"]
    assert [s["step"] for s in mine] == [str(i) for i in range(1, 11)]
    assert float(mine[0]["wall_s"]) == pytest.approx(0.5)


def test_the_report_and_compare_use_the_steps(fake_runs, tmp_path) -> None:
    base, slow = fake_runs
    done = run_cli("report", str(base))
    assert done.returncode == 0, done.stderr
    text = (base / "report.md").read_text()
    assert "## Steps" in text and "step-based overhead" in text and "400 ms" in text
    assert (base / "figures" / "epoch1_steps.png").exists()
    done = run_cli("compare", str(base), str(slow), "--json", "--dest", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert '"step-based overhead"' in done.stdout


def test_a_run_without_steps_reads_and_reports(tmp_path) -> None:
    done = run_cli(
        "run", "--frameworks", "fake", "--models", "seed_ffnn", "--samples", "640", "--epochs",
        "3", "--repeats", "1", "--set", "sweep.warmup=0", "--set", "monitor.steps=false",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run_dir(tmp_path)
    assert read_csv(run / "steps.csv") == [] and read_csv(run / "trials.csv")[0]["step_p50_s"] == ""
    assert "No steps recorded" in (run / "report.md").read_text()


def test_the_step_based_interval_is_5x_narrower_on_a_resnet18_like_case() -> None:
    from analysis.simulate_steps import Case, estimates

    found = estimates(Case(), seed=0)
    (_, s_low, s_high), (_, e_low, e_high) = found["step"], found["epoch"]
    assert (e_high - e_low) >= 5 * (s_high - s_low)
    assert s_low <= 0.2 <= s_high + 0.01  # the scripted first-step cost (the tail is noise)
