"""Device discovery, selection, NVML readings and the host fingerprint, tested without a GPU.

`FakeNvmlLib` (tests/fake_nvml.py) stands in for the `pynvml` module at the
`bench.hardware.nvml.Nvml` seam: same function names, same return shapes (structs with
attributes, bytes or str strings), and a `NVMLError` class that chosen calls raise, so every GPU
code path runs on a machine with no driver. CUDA_VISIBLE_DEVICES, UUIDs and MIG are tested in
tests/test_gpu_truth.py, NVML versions in tests/test_nvml_details.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_nvml import GIB, FakeNvmlLib

from bench.hardware import devices, fingerprint
from bench.hardware.devices import Device, cpu_device, discover, format_table, resolve
from bench.hardware.nvml import GpuInfo, Nvml, cuda_version_string

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery reads CUDA_VISIBLE_DEVICES; these tests assume the user set none."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def cpu(label: str = "Test CPU") -> Device:
    return Device("cpu", "cpu", label, None, 16 * GIB, "4 cores / 8 threads")


def gpu(index: int) -> Device:
    return Device(f"cuda:{index}", "cuda", "GPU", index, 8 * GIB, "driver 1, CUDA 12.4")


# --- NVML seam -----------------------------------------------------------------------------


def test_gpus_reads_two_fake_gpus_and_decodes_bytes() -> None:
    infos = Nvml(FakeNvmlLib()).gpus()
    assert infos == [
        GpuInfo(
            0,
            "NVIDIA A100-SXM4-40GB",
            "GPU-aaaa",
            40 * GIB,
            "550.54.15",
            "12.4",
            "00000000:3B:00.0",
            compute_capability=(8, 0),
        ),
        GpuInfo(
            1,
            "NVIDIA H100 80GB HBM3",
            "GPU-bbbb",
            80 * GIB,
            "550.54.15",
            "12.4",
            "00000000:86:00.0",
            compute_capability=(9, 0),
        ),
    ]
    assert all(isinstance(v, str) for g in infos for v in (g.name, g.uuid, g.pci_bus_id))


def test_gpus_degrade_field_by_field() -> None:
    lib = FakeNvmlLib(fail={"nvmlDeviceGetUUID", "nvmlSystemGetCudaDriverVersion"})
    infos = Nvml(lib).gpus()
    assert [g.uuid for g in infos] == [None, None]
    assert [g.cuda_driver_version for g in infos] == [None, None]
    assert infos[0].name == "NVIDIA A100-SXM4-40GB"


def test_gpus_empty_when_count_fails() -> None:
    assert Nvml(FakeNvmlLib(fail={"nvmlDeviceGetCount"})).gpus() == []


@pytest.mark.parametrize(("raw", "text"), [(12040, "12.4"), (11080, "11.8"), (13000, "13.0")])
def test_cuda_version_string(raw: int, text: str) -> None:
    assert cuda_version_string(raw) == text


def test_sample_converts_units() -> None:
    sample = Nvml(FakeNvmlLib()).sample(0)
    assert sample == {
        "utilization_gpu_pct": 87,
        "memory_used_bytes": 5 * GIB,
        "power_w": 251.5,
        "sm_clock_mhz": 1410,
        "temperature_c": 61,
        "throttle_reasons": 0x1,
    }


def test_sample_fields_are_none_where_nvml_raises() -> None:
    lib = FakeNvmlLib(fail={"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature"})
    sample = Nvml(lib).sample(1)
    assert sample["power_w"] is None
    assert sample["temperature_c"] is None
    assert sample["utilization_gpu_pct"] == 87
    assert sample["memory_used_bytes"] == 1 * GIB


@pytest.mark.parametrize(
    ("fail", "missing"),
    [
        ({"nvmlDeviceGetCurrentClocksEventReasons"}, set()),  # old driver: FunctionNotFound
        (set(), {"nvmlDeviceGetCurrentClocksEventReasons"}),
    ],  # old bindings: no such function
)
def test_throttle_reasons_fall_back_to_deprecated_call(fail: set[str], missing: set[str]) -> None:
    assert Nvml(FakeNvmlLib(fail=fail, missing=missing)).sample(0)["throttle_reasons"] == 0x4


def test_sample_of_unknown_index_is_all_none() -> None:
    sample = Nvml(FakeNvmlLib()).sample(5)
    assert set(sample) == {
        "utilization_gpu_pct",
        "memory_used_bytes",
        "power_w",
        "sm_clock_mhz",
        "temperature_c",
        "throttle_reasons",
    }
    assert all(v is None for v in sample.values())


def test_total_energy() -> None:
    assert Nvml(FakeNvmlLib()).total_energy_mj(0) == 123_456_789
    lib = FakeNvmlLib(fail={"nvmlDeviceGetTotalEnergyConsumption"})
    assert Nvml(lib).total_energy_mj(0) is None


def test_process_memory() -> None:
    nvml = Nvml(FakeNvmlLib())
    assert nvml.process_memory_bytes(0, 4242) == 4 * GIB  # listed twice (e.g. MIG): summed
    assert nvml.process_memory_bytes(0, 99) == 2 * GIB
    assert nvml.process_memory_bytes(0, 7) is None  # usedGpuMemory None (WDDM)
    assert nvml.process_memory_bytes(0, 12345) is None  # not running there
    assert nvml.process_memory_bytes(1, 4242) is None  # no processes at all
    every_version = {"nvmlDeviceGetComputeRunningProcesses" + v for v in ("_v3", "_v2", "")}
    failing = Nvml(FakeNvmlLib(fail=every_version, lacks=every_version))
    assert failing.process_memory_bytes(0, 4242) is None


def test_library_mismatch_error_is_caught() -> None:
    lib = FakeNvmlLib()

    def mismatch(handle: Any) -> Any:
        raise lib.NVMLLibraryMismatchError("use a versioned function")

    lib.nvmlDeviceGetComputeRunningProcesses_v3 = mismatch  # type: ignore[method-assign]
    lib.nvmlDeviceGetComputeRunningProcesses_v2 = mismatch  # type: ignore[method-assign]
    lib._nvmlGetFunctionPointer = mismatch  # type: ignore[method-assign]
    lib.nvmlDeviceGetComputeRunningProcesses = mismatch  # type: ignore[method-assign]
    assert Nvml(lib).process_memory_bytes(0, 4242) is None


def test_handles_are_cached_and_shutdown_is_idempotent() -> None:
    lib = FakeNvmlLib()
    nvml = Nvml(lib)
    nvml.sample(0)
    nvml.sample(0)
    assert lib.calls.count("nvmlDeviceGetHandleByIndex") == 1
    nvml.shutdown()
    nvml.shutdown()
    assert lib.calls.count("nvmlShutdown") == 1


def test_shutdown_swallows_nvml_error() -> None:
    Nvml(FakeNvmlLib(fail={"nvmlShutdown"})).shutdown()


def test_load_returns_none_without_a_driver() -> None:
    has_driver = Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi") is not None
    nvml = Nvml.load()
    if has_driver:
        if nvml is not None:
            nvml.shutdown()
        pytest.skip("an NVIDIA driver is present on this machine")
    assert nvml is None


def test_load_returns_none_when_pynvml_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    assert Nvml.load() is None


def test_load_returns_none_when_init_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvmlLib(fail={"nvmlInit"}))
    assert Nvml.load() is None


def test_load_wraps_the_module_when_init_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvmlLib())
    nvml = Nvml.load()
    assert nvml is not None
    assert len(nvml.gpus()) == 2


# --- discovery -----------------------------------------------------------------------------


def test_discover_lists_cpu_then_each_gpu() -> None:
    found = discover(Nvml(FakeNvmlLib()))
    assert [d.name for d in found] == ["cpu", "cuda:0", "cuda:1"]
    assert [d.kind for d in found] == ["cpu", "cuda", "cuda"]
    assert found[1].label == "NVIDIA A100-SXM4-40GB"
    assert found[1].memory_bytes == 40 * GIB
    assert found[2].label == "NVIDIA H100 80GB HBM3"
    assert found[2].memory_bytes == 80 * GIB
    assert [d.index for d in found] == [None, 0, 1]
    assert found[2].detail == "driver 550.54.15, CUDA 12.4"


def test_discover_without_nvml_is_cpu_only() -> None:
    assert [d.name for d in discover(None)] == ["cpu"]


def test_discover_default_loads_and_shuts_down(monkeypatch: pytest.MonkeyPatch) -> None:
    lib = FakeNvmlLib()
    monkeypatch.setitem(sys.modules, "pynvml", lib)
    assert [d.name for d in discover()] == ["cpu", "cuda:0", "cuda:1"]
    assert lib.calls.count("nvmlShutdown") == 1


def test_discover_does_not_shut_down_a_callers_nvml() -> None:
    lib = FakeNvmlLib()
    discover(Nvml(lib))
    assert "nvmlShutdown" not in lib.calls


def test_cpu_device_describes_this_host() -> None:
    device = cpu_device()
    assert device.name == "cpu" and device.kind == "cpu" and device.index is None
    assert device.label
    assert device.memory_bytes > 0
    assert device.detail.endswith("threads") and " cores / " in device.detail


def test_cpu_model_reads_cpuinfo_and_falls_back(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Fake Xeon 9000\n")
    assert devices.cpu_model(info) == "Fake Xeon 9000"
    assert devices.cpu_model(tmp_path / "absent")  # platform fallback, never empty


# --- selection -----------------------------------------------------------------------------


def test_resolve_auto_cpu_cuda_and_index() -> None:
    available = [cpu(), gpu(0), gpu(1)]
    assert resolve(["auto"], available) == available
    assert resolve(["cpu"], available) == [available[0]]
    assert resolve(["cuda"], available) == available[1:]
    assert resolve(["cuda:1"], available) == [available[2]]
    assert resolve(["cuda:1", "cpu"], available) == [available[2], available[0]]


def test_resolve_removes_duplicates_keeping_order() -> None:
    available = [cpu(), gpu(0), gpu(1)]
    assert resolve(["cuda:1", "cuda", "cpu", "auto", "cuda:1"], available) == [
        available[2],
        available[1],
        available[0],
    ]


def test_resolve_unknown_device_message() -> None:
    with pytest.raises(ValueError) as err:
        resolve(["cpu", "cuda:3"], [cpu(), gpu(0)])
    assert str(err.value) == 'device "cuda:3" is not available; choose from: auto, cpu, cuda:0'


@pytest.mark.parametrize("value", ["tpu", "mps"])
def test_resolve_absent_device_on_cpu_only_host(value: str) -> None:
    with pytest.raises(
        ValueError, match=f'^device "{value}" is not available; choose from: auto, cpu$'
    ):
        resolve([value], [cpu()], why_no_gpu=lambda: pytest.fail("not a GPU name"))


@pytest.mark.parametrize("value", ["cuda", "cuda:0", "CUDA:1"])
def test_resolve_a_gpu_on_a_cpu_only_host_says_why_there_is_none(value: str) -> None:
    reasons = ["no NVIDIA driver — install it", "torch is a CPU-only build — pip install it"]
    with pytest.raises(ValueError) as err:
        resolve([value], [cpu()], why_no_gpu=lambda: reasons)
    assert str(err.value) == (
        f'device "{value}" is not available, there is no GPU here: (1) no NVIDIA driver — '
        "install it; (2) torch is a CPU-only build — pip install it; choose from: auto, cpu"
    )
    with pytest.raises(ValueError, match="no NVIDIA, ROCm or Apple GPU found"):
        resolve([value], [cpu()], why_no_gpu=list)  # no reason known: still no bare refusal


def test_resolve_empty_request_is_an_error() -> None:
    with pytest.raises(ValueError, match="no device requested"):
        resolve([], [cpu()])


def test_format_table() -> None:
    table = format_table(discover(Nvml(FakeNvmlLib()))).splitlines()
    assert table[0].split() == ["name", "label", "memory", "uuid", "detail"]
    assert table[1].startswith("cpu ")
    assert " cores / " in table[1]
    assert table[2].startswith("cuda:0  NVIDIA A100-SXM4-40GB")
    assert "40.0 GiB  GPU-aaaa" in table[2]
    assert table[2].endswith("driver 550.54.15, CUDA 12.4")
    assert "80.0 GiB" in table[3]


# --- fingerprint ---------------------------------------------------------------------------


def test_fingerprint_is_json_and_lists_gpus() -> None:
    fp = fingerprint.host_fingerprint(Nvml(FakeNvmlLib()))
    data = json.loads(json.dumps(fp))
    assert data["cpu_logical_cores"] >= data["cpu_physical_cores"] >= 1
    assert data["ram_bytes"] > 0
    assert [g["name"] for g in data["gpus"]] == ["NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3"]
    assert data["gpus"][0]["cuda_driver_version"] == "12.4"
    for key in ("hostname", "os", "kernel", "python_version", "python_implementation", "cpu_model"):
        assert isinstance(data[key], str) and data[key]


def test_framework_versions_lists_installed_packages_only() -> None:
    versions = fingerprint.framework_versions()
    assert {"torch", "psutil", "nvidia-ml-py"} <= set(versions)
    assert set(versions) <= set(fingerprint.FRAMEWORK_PACKAGES)
    assert all(isinstance(v, str) and v for v in versions.values())


def test_fingerprint_imports_no_framework() -> None:
    code = (
        "import bench.hardware.fingerprint as f, sys, json; json.dumps(f.host_fingerprint(None)); "
        "print(any(m in sys.modules for m in ('torch','tensorflow','keras')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_git_commit_outside_a_repository(tmp_path: Path) -> None:
    assert fingerprint.git_commit(tmp_path) is None
    assert fingerprint.git_commit(tmp_path / "missing") is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_in_a_repository(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, timeout=30)
    sha = fingerprint.git_commit(tmp_path)
    assert sha is not None and len(sha) in (40, 64)
