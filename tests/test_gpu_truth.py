"""GPU truth: the user's CUDA_VISIBLE_DEVICES, UUIDs handed to children, and MIG slices as
devices with board-level readings and no spec-sheet peak. (NVML's version fallbacks and the
epoch window of the NVML memory peak: tests/test_nvml_details.py.)

Everything runs on the fake pynvml of tests/fake_nvml.py at the `bench.hardware.nvml.Nvml` seam:
four identical A100s (told apart only by UUID and by what each board reports), or an A100 in MIG
mode with two slices beside a whole H100.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_nvml import GIB, FakeNvmlLib, gpu, mig_board

from bench.contract.trial import Trial
from bench.core.config import load
from bench.core.plan import plan
from bench.core.rows import trial_rows
from bench.hardware import calibrate
from bench.hardware.devices import Device, discover, format_table
from bench.hardware.nvml import Nvml
from bench.launchers.local import child_env
from bench.trial.energy import EnergyMeter

UUIDS = [f"GPU-{n}{n}{n}{n}-0000-{n}" for n in range(4)]
PID = 4242


def four_a100s() -> list[dict[str, Any]]:
    """Four identical boards; board n draws (n + 1) × 100 W and holds (n + 1) GiB for PID."""
    return [
        gpu(
            "NVIDIA A100-SXM4-80GB",
            uuid,
            80 * GIB,
            n * GIB,
            bus=f"00000000:0{n}:00.0",
            procs=[(PID, (n + 1) * GIB)],
            power_mw=(n + 1) * 100_000,
            energy_mj=(n + 1) * 1_000_000,
        )
        for n, uuid in enumerate(UUIDS)
    ]


def gpus_seen(monkeypatch: pytest.MonkeyPatch, value: str | None, lib: Any = None) -> list[Device]:
    if value is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    lib = lib if lib is not None else FakeNvmlLib(gpus=four_a100s())
    return [d for d in discover(Nvml(lib)) if d.kind == "cuda"]


def trials_on(devices: list[Device]) -> list[Trial]:
    sweep = {"frameworks": ["fake"], "models": ["seed_ffnn"], "repeats": 1}
    cfg = load(None, {"sweep": sweep}, ["test"])
    return plan(cfg, devices, 2)


# --- CUDA_VISIBLE_DEVICES ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "boards"),
    [
        (None, [0, 1, 2, 3]),  # unset: every GPU
        ("2,3", [2, 3]),
        ("3,1", [3, 1]),  # CUDA's order is the list's
        (" 1 , 2", [1, 2]),
        ("", []),  # set but empty: no GPU
        ("0,2,-1,1", [0, 2]),  # an invalid entry ends the list (the CUDA guide's example)
        ("1,7,2", [1]),  # out of range
        ("1gpu,2", [1, 2]),  # read like strtoul
        ("junk,1", []),
        ("0,0", []),  # a repeated device: none at all
        ("GPU-2222", [2]),  # a unique UUID prefix
        (f"{UUIDS[3]},{UUIDS[0]}", [3, 0]),
        ("GPU-", []),  # a prefix of every UUID: ambiguous
        ("GPU-9999", []),
        ("GPU-1111,2", [1]),  # an entry of another kind ends the list
        ("2,GPU-1111", [2]),
    ],
)
def test_discovery_respects_cuda_visible_devices(
    monkeypatch: pytest.MonkeyPatch, value: str | None, boards: list[int]
) -> None:
    found = gpus_seen(monkeypatch, value)
    assert [d.index for d in found] == boards  # the NVML index of each board
    assert [d.uuid for d in found] == [UUIDS[n] for n in boards]
    assert [d.name for d in found] == [f"cuda:{n}" for n in range(len(boards))]


def test_child_gets_the_gpus_uuid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = trials_on(gpus_seen(monkeypatch, "2,3"))
    assert (first.device, first.device_index, first.device_uuid) == ("cuda:0", 2, UUIDS[2])
    env = child_env(first, tmp_path)
    assert env["CUDA_VISIBLE_DEVICES"] == UUIDS[2]  # one GPU, by UUID: cuda:0 in the child
    assert child_env(second, tmp_path)["CUDA_VISIBLE_DEVICES"] == UUIDS[3]


def test_child_gets_the_nvml_index_only_without_a_uuid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lib = FakeNvmlLib(gpus=four_a100s(), fail={"nvmlDeviceGetUUID"})
    (trial,) = trials_on(gpus_seen(monkeypatch, "3", lib))
    assert (trial.device, trial.device_uuid, trial.gpu_key) == ("cuda:0", "", 3)
    env = child_env(trial, tmp_path)
    assert env["CUDA_VISIBLE_DEVICES"] == "3"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_calibration_child_gets_the_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    (device,) = gpus_seen(monkeypatch, "1")
    assert calibrate._env(device, 4)["CUDA_VISIBLE_DEVICES"] == UUIDS[1]


def test_cpu_trial_sees_no_gpu(tmp_path: Path) -> None:
    (cpu,) = [d for d in discover(None)]
    (trial,) = trials_on([cpu])
    assert child_env(trial, tmp_path)["CUDA_VISIBLE_DEVICES"] == ""
    assert trial.gpu_key is None


def test_trials_csv_keeps_the_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    (trial,) = trials_on(gpus_seen(monkeypatch, "GPU-2"))
    row = trial_rows("r", trial, "ok", 0, "", [], None)["trials.csv"][0]
    assert (row.device, row.device_uuid, row.gpu_readings) == ("cuda:0", UUIDS[2], "device")


def test_devices_table_shows_the_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,0")
    lines = format_table(discover(Nvml(FakeNvmlLib(gpus=four_a100s())))).splitlines()
    assert lines[0].split()[3] == "uuid"
    assert lines[2].startswith("cuda:0") and UUIDS[3] in lines[2]
    assert lines[3].startswith("cuda:1") and UUIDS[0] in lines[3]


def test_nvml_readings_use_the_trials_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    (trial,) = trials_on(gpus_seen(monkeypatch, "2"))
    lib = FakeNvmlLib(gpus=four_a100s())
    nvml = Nvml(lib)
    assert trial.gpu_key == UUIDS[2]  # not the visible position 0, not a bare index
    assert nvml.sample(trial.gpu_key)["power_w"] == 300.0  # board 2's, not board 0's
    assert nvml.process_memory_bytes(trial.gpu_key, PID) == 3 * GIB
    assert "nvmlDeviceGetHandleByUUID" in lib.calls
    meter = EnergyMeter.detect(nvml, trial.gpu_key, root=Path("/nonexistent"))
    assert meter.sources == "nvml"
    meter.begin()
    lib.gpus[2]["energy_mj"] += 5_000
    assert meter.end() == pytest.approx(5.0)


# --- MIG -----------------------------------------------------------------------------------


def mig_lib(**kwargs: Any) -> FakeNvmlLib:
    h100 = gpu("NVIDIA H100 80GB HBM3", "GPU-hhhh", 80 * GIB, GIB, bus="00000000:86:00.0", procs=[])
    return FakeNvmlLib(gpus=[mig_board(), h100], **kwargs)


def test_mig_board_lists_its_slices() -> None:
    board, whole = Nvml(mig_lib()).gpus()
    assert board.mig_enabled and not whole.mig_enabled and whole.mig_slices == ()
    assert [s.mig_index for s in board.mig_slices] == [0, 2]  # index 1 holds no MIG device
    assert [s.uuid for s in board.mig_slices] == ["MIG-aaaa-0001", "MIG-bbbb-0002"]
    assert [s.name for s in board.mig_slices] == [
        "NVIDIA A100-SXM4-40GB MIG 3g.20gb",
        "NVIDIA A100-SXM4-40GB MIG 1g.5gb",
    ]
    assert [s.memory_total_bytes for s in board.mig_slices] == [20 * GIB, 5 * GIB]
    assert [s.gpu_instance_id for s in board.mig_slices] == [1, 9]


def test_each_mig_slice_is_a_device(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    found = gpus_seen(monkeypatch, None, mig_lib())
    assert [(d.name, d.uuid, d.mig) for d in found] == [
        ("cuda:0", "MIG-aaaa-0001", True),
        ("cuda:1", "MIG-bbbb-0002", True),
        ("cuda:2", "GPU-hhhh", False),
    ]
    assert found[1].label == "NVIDIA A100-SXM4-40GB MIG 1g.5gb"
    assert found[1].memory_bytes == 5 * GIB  # the slice's own memory, not the board's 40 GiB
    assert found[1].detail.startswith("MIG slice 2 of GPU 0, GPU instance 9")
    trial = trials_on(found)[1]
    assert child_env(trial, tmp_path)["CUDA_VISIBLE_DEVICES"] == "MIG-bbbb-0002"


@pytest.mark.parametrize(
    ("value", "uuids"),
    [
        ("MIG-bbbb", ["MIG-bbbb-0002"]),
        ("MIG-bbbb-0002,MIG-aaaa-0001", ["MIG-bbbb-0002", "MIG-aaaa-0001"]),
        ("0", ["MIG-aaaa-0001", "MIG-bbbb-0002"]),  # a board in MIG mode: its slices
        ("GPU-m1g,GPU-hhhh", ["MIG-aaaa-0001", "MIG-bbbb-0002", "GPU-hhhh"]),
        ("1", ["GPU-hhhh"]),
        ("MIG-", []),  # ambiguous
    ],
)
def test_cuda_visible_devices_with_mig(
    monkeypatch: pytest.MonkeyPatch, value: str, uuids: list[str]
) -> None:
    assert [d.uuid for d in gpus_seen(monkeypatch, value, mig_lib())] == uuids


def test_mig_slice_readings_are_the_slices_memory_and_the_boards_power() -> None:
    lib = mig_lib()
    lib.gpus[0]["mig"][2]["procs"] = [(PID, 2 * GIB)]
    lib.gpus[0]["procs"] = [(PID, 7 * GIB)]
    nvml = Nvml(lib)
    sample = nvml.sample("MIG-bbbb-0002")
    assert sample["memory_used_bytes"] == 1 * GIB  # the slice's
    assert sample["power_w"] == 251.5 and sample["utilization_gpu_pct"] == 87  # the board's
    assert sample["sm_clock_mhz"] == 1410 and sample["temperature_c"] == 61
    assert nvml.process_memory_bytes("MIG-bbbb-0002", PID) == 2 * GIB  # the slice's processes
    assert nvml.board_level("MIG-bbbb-0002") and not nvml.board_level("GPU-hhhh")
    assert nvml.total_energy_mj("MIG-bbbb-0002") == 123_456_789  # the board's counter


def test_mig_energy_is_marked_board_level() -> None:
    nvml = Nvml(mig_lib())
    none = Path("/nonexistent")
    assert EnergyMeter.detect(nvml, "MIG-aaaa-0001", root=none).sources == "nvml-board"
    assert EnergyMeter.detect(nvml, "GPU-hhhh", root=none).sources == "nvml"


def test_mig_trial_row_says_board_level(monkeypatch: pytest.MonkeyPatch) -> None:
    (trial,) = trials_on(gpus_seen(monkeypatch, "MIG-aaaa", mig_lib()))
    assert trial.mig_slice
    row = trial_rows("r", trial, "ok", 0, "", [], None)["trials.csv"][0]
    assert (row.device_uuid, row.gpu_readings) == ("MIG-aaaa-0001", "board")


def test_report_says_why_mfu_spec_is_empty() -> None:
    import pandas as pd

    from analysis.findings import spec_peak_notes

    slice_name = "NVIDIA A100-SXM4-40GB MIG 1g.5gb"
    note = "MIG slice: the spec sheet is the whole board's, not the slice's"
    trials = pd.DataFrame(
        {
            "status": ["ok", "ok", "ok", "failed"],
            "device": ["cuda:0", "cuda:0", "cpu", "cuda:0"],
            "device_name": [slice_name, slice_name, "CPU", slice_name],
            "peak_spec_note": [note, note, "no spec-sheet peak for a CPU", note],
        }
    )
    assert spec_peak_notes(trials) == [f"mfu_spec on cuda:0 ({slice_name}), 2 trial(s): {note}."]
    assert spec_peak_notes(trials.drop(columns="peak_spec_note")) == []


@pytest.mark.parametrize(("uuid", "spec"), [("MIG-bbbb-0002", None), ("GPU-m1g", 19.5e12)])
def test_sweep_applies_no_spec_peak_to_a_mig_slice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uuid: str, spec: float | None
) -> None:
    from types import SimpleNamespace

    from bench.core import sweep
    from bench.launchers.process import Outcome

    name = "NVIDIA A100-SXM4-40GB" + (" MIG 1g.5gb" if uuid.startswith("MIG-") else "")
    (trial,) = trials_on([Device("cuda:0", "cuda", name, 0, 5 * GIB, "", uuid=uuid)])
    monkeypatch.setattr(sweep, "launcher_for", lambda t: lambda *a, **k: Outcome("ok", 0))
    folder = SimpleNamespace(run_id="r", path=tmp_path, meta={})
    display = SimpleNamespace(trial_started=lambda t: None, on_event=lambda e: None)
    cfg = load(None, {"sweep": {"frameworks": ["fake"], "models": ["seed_ffnn"]}}, ["test"])
    rows = sweep._run_one(cfg, trial, folder, {("fake", "fake"): ""}, display)  # type: ignore[arg-type]
    row = rows["trials.csv"][0]
    assert row.peak_flops_per_s_spec == spec
    assert ("MIG slice" in row.peak_spec_note) == (spec is None)
    assert row.gpu_readings == ("board" if spec is None else "device")


# --- ROCm: HIP's own visibility variables -------------------------------------------------


def rocm_facts(n: int) -> dict[str, Any]:
    """What the torch probe reports on a ROCm build seeing n GPUs (counted 0..n−1)."""
    gpus = [
        {"index": i, "name": "AMD Instinct MI300X", "memory_bytes": 192 * GIB} for i in range(n)
    ]
    return {"hip": "6.2", "gpus": gpus}


@pytest.mark.parametrize(
    ("environ", "indices", "uuids", "child_ids"),
    [
        ({}, [0, 1], [None, None], ["0", "1"]),  # nothing set: the probe's count is the index
        ({"HIP_VISIBLE_DEVICES": "2,3"}, [2, 3], [None, None], ["2", "3"]),
        ({"CUDA_VISIBLE_DEVICES": " 5 ,1"}, [5, 1], [None, None], ["5", "1"]),
        # HIP_VISIBLE_DEVICES wins over CUDA_VISIBLE_DEVICES, as torch reads them on ROCm
        (
            {"HIP_VISIBLE_DEVICES": "3,2", "CUDA_VISIBLE_DEVICES": "0,1"},
            [3, 2],
            [None] * 2,
            ["3", "2"],
        ),
        (
            {"HIP_VISIBLE_DEVICES": "GPU-4b2c1a9f,1"},
            [0, 1],
            ["GPU-4b2c1a9f", None],
            ["GPU-4b2c1a9f", "1"],
        ),
    ],
)
def test_a_rocm_child_gets_the_gpu_the_users_list_named(
    environ: dict[str, str], indices: list, uuids: list, child_ids: list, tmp_path: Path
) -> None:
    from bench.hardware.devices import probed_devices

    devices = probed_devices(rocm_facts(2), environ=environ)
    assert [d.name for d in devices] == ["cuda:0", "cuda:1"]  # counted among the visible ones
    assert [d.index for d in devices] == indices and [d.uuid for d in devices] == uuids
    for trial, expected in zip(trials_on(devices), child_ids, strict=True):
        env = child_env(trial, tmp_path)
        assert env["CUDA_VISIBLE_DEVICES"] == env["HIP_VISIBLE_DEVICES"] == expected


def test_rocm_visibility_variables_reach_the_children(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ROCR_VISIBLE_DEVICES (HIP's indices count within it) and HSA_* (e.g. the GFX override a
    consumer GPU needs) pass through; a CPU child gets no HIP_VISIBLE_DEVICES to see GPUs by."""
    monkeypatch.setenv("ROCR_VISIBLE_DEVICES", "4,5,6")
    monkeypatch.setenv("HSA_OVERRIDE_GFX_VERSION", "11.0.0")
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "1,2")
    from bench.hardware.devices import probed_devices

    gpu_trial = trials_on(probed_devices(rocm_facts(2)))[1]
    env = child_env(gpu_trial, tmp_path)
    assert env["ROCR_VISIBLE_DEVICES"] == "4,5,6" and env["HSA_OVERRIDE_GFX_VERSION"] == "11.0.0"
    assert env["HIP_VISIBLE_DEVICES"] == env["CUDA_VISIBLE_DEVICES"] == "2"
    (cpu_trial,) = trials_on([d for d in discover(None)])
    cpu_env = child_env(cpu_trial, tmp_path)
    assert "HIP_VISIBLE_DEVICES" not in cpu_env and cpu_env["CUDA_VISIBLE_DEVICES"] == ""
