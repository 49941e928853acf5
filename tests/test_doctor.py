"""`bench doctor`, the framework probes and ROCm/MPS discovery, without a GPU.

Fake framework modules stand in at the probe seam (`torch_facts(torch)`, ...): a CPU-only build,
a CUDA build, a ROCm build, a Mac. The verdicts are pure functions of those facts; the probe child
and the CLI run for real, the child once with a fake `torch` package first on its import path.
The probes' concurrency and the streaming of their lines are tested with a fake probe function
and a fake terminal (`probe_all`, `framework_checks`).
"""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import run_cli

from bench.cli import doctor as doctor_cli
from bench.hardware.devices import Device, probed_devices
from bench.hardware.doctor import FAIL, INFO, OK, cuda_compatibility, rapl_check, verdict
from bench.hardware.probe import (
    jax_facts,
    may_hold_other_gpus,
    run_probe,
    tensorflow_facts,
    torch_facts,
)

CPU = Device("cpu", "cpu", "some CPU", None, 2**34, "2 cores")
GPU = Device("cuda:0", "cuda", "NVIDIA H100 80GB HBM3", 0, 80 * 2**30, "driver 550, CUDA 12.4")
MPS = Device("mps", "mps", "Apple MPS", None, 2**34, "unified memory")


def fake_torch(cuda: str | None = None, hip: str | None = None, gpus: int = 0, mps: bool = False):
    props = SimpleNamespace(
        name="AMD Instinct MI300X" if hip else "NVIDIA H100", total_memory=2**36
    )
    return SimpleNamespace(
        __version__="2.13.0",
        version=SimpleNamespace(cuda=cuda, hip=hip),
        cuda=SimpleNamespace(
            is_available=lambda: gpus > 0,
            device_count=lambda: gpus,
            get_device_properties=lambda i: props,
        ),
        backends=SimpleNamespace(
            cudnn=SimpleNamespace(version=lambda: 91000),
            mps=SimpleNamespace(is_available=lambda: mps),
        ),
    )


def fake_tf(cuda: bool, gpus: int = 0):
    info = {"cuda_version": "12.5", "cudnn_version": "9"} if cuda else {}
    return SimpleNamespace(
        __version__="2.21.0",
        sysconfig=SimpleNamespace(get_build_info=lambda: info),
        test=SimpleNamespace(is_built_with_cuda=lambda: cuda, is_built_with_rocm=lambda: False),
        config=SimpleNamespace(
            list_physical_devices=lambda kind: [
                SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(gpus)
            ]
        ),
    )


def test_cpu_only_torch_asked_for_a_gpu_names_the_cuda_install() -> None:
    facts = torch_facts(fake_torch())
    assert facts["cuda"] is None and facts["gpus"] == []
    check = verdict("torch", "torch", facts, GPU, "12.4")
    assert check.status == FAIL
    assert "CPU-only build" in check.detail and "pip install -e '.[gpu-torch]'" in check.detail
    assert verdict("torch", "torch", facts, CPU, None).status == OK


def test_tensorflow_cpu_asked_for_a_gpu_names_tensorflow_and_cuda() -> None:
    facts = tensorflow_facts(fake_tf(cuda=False))
    check = verdict("keras", "tensorflow", facts, GPU, "12.4")
    assert check.status == FAIL
    assert "tensorflow-cpu" in check.detail and "tensorflow[and-cuda]" in check.detail
    working = tensorflow_facts(fake_tf(cuda=True, gpus=1))
    assert verdict("keras", "tensorflow", working, GPU, "12.8").status == OK


def test_jax_without_gpu_platform_fails_on_a_gpu_with_the_cuda_extra() -> None:
    jax = SimpleNamespace(__version__="0.10.2", devices=lambda: [SimpleNamespace(platform="cpu")])
    facts = jax_facts(jax, plugins=[])
    check = verdict("keras", "jax", facts, GPU, "12.4")
    assert check.status == FAIL and "no GPU plugin" in check.detail
    assert "pip install 'jax[cuda13]'" in check.detail and "'jax[cuda12]'" in check.detail
    gpu_jax = SimpleNamespace(
        __version__="0.10.2", devices=lambda: [SimpleNamespace(platform="gpu", device_kind="H100")]
    )
    assert verdict("keras", "jax", jax_facts(gpu_jax), GPU, "12.4").status == OK


def test_jax_whose_plugin_failed_on_an_old_driver_says_which_driver_it_needs() -> None:
    """Defect 7: a CUDA 13 plugin on a driver for CUDA 12.4 is not told to install jax[cuda12]
    as if no plugin were there; it hears the driver it needs and JAX's own error."""
    bridge = SimpleNamespace(_backend_errors={"cuda": "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"})
    jax = SimpleNamespace(
        __version__="0.10.2",
        devices=lambda: [SimpleNamespace(platform="cpu")],
        _src=SimpleNamespace(xla_bridge=bridge),
    )
    facts = jax_facts(jax, plugins=["jax-cuda13-plugin"])
    assert facts["backend_error"] == "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"
    check = verdict("keras", "jax", facts, GPU, "12.4")
    assert check.status == FAIL and "no GPU plugin" not in check.detail
    assert "jax-cuda13-plugin is installed but failed to load" in check.detail
    assert "the driver supports CUDA 12.4, jax-cuda13-plugin needs CUDA 13 (driver ≥ 580)" in (
        check.detail
    )
    assert check.detail.endswith("JAX said: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH")
    new_driver = verdict("keras", "jax", facts, GPU, "13.0")
    assert "needs CUDA 13" not in new_driver.detail and "failed to load" in new_driver.detail


def test_jax_whose_backend_raised_keeps_the_error_for_doctor() -> None:
    def devices() -> list:
        raise RuntimeError("Unable to initialize backend 'cuda': CUDA_ERROR_SYSTEM_DRIVER_MISMATCH")

    facts = jax_facts(SimpleNamespace(__version__="0.10.2", devices=devices), ["jax-cuda13-plugin"])
    assert facts["platforms"] == [] and "DRIVER_MISMATCH" in facts["backend_error"]
    check = verdict("keras", "jax", facts, GPU, "12.4")
    assert "JAX could not start its backends: jax-cuda13-plugin is installed" in check.detail
    assert check.detail.endswith("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH")


@pytest.mark.parametrize(
    ("runtime", "driver", "status", "words"),
    [
        ("12.4", "12.8", OK, "driver supports CUDA 12.8"),
        ("12.8", "12.2", OK, "minor-version compatibility"),
        ("12.8", "11.8", FAIL, "update the NVIDIA driver"),
    ],
)
def test_cuda_runtime_against_driver(runtime: str, driver: str, status: str, words: str) -> None:
    got, text = cuda_compatibility(runtime, driver)
    assert got == status and words in text


def test_cuda_build_that_sees_no_gpu_blames_an_old_driver() -> None:
    facts = torch_facts(fake_torch(cuda="12.8", gpus=0))
    check = verdict("torch", "torch", facts, GPU, "11.8")
    assert check.status == FAIL and "update the NVIDIA driver" in check.detail


def test_rocm_torch_is_a_cuda_device_found_by_the_probe() -> None:
    facts = torch_facts(fake_torch(hip="6.2", gpus=2))
    devices = probed_devices(facts, environ={})
    assert [d.name for d in devices] == ["cuda:0", "cuda:1"]
    assert all(d.kind == "cuda" and "ROCm/HIP 6.2" in d.detail for d in devices)
    assert verdict("torch", "torch", facts, devices[0], None).status == OK


def test_mps_is_a_device_for_torch_and_keras_on_torch_only() -> None:
    facts = torch_facts(fake_torch(mps=True))
    assert [d.name for d in probed_devices(facts, system_memory=2**34)] == ["mps"]
    assert verdict("torch", "torch", facts, MPS, None).status == OK
    assert verdict("keras", "torch", {**facts, "backend_version": "2.13"}, MPS, None).status == OK
    tf = tensorflow_facts(fake_tf(cuda=False))
    assert verdict("keras", "tensorflow", tf, MPS, None).status == FAIL


def test_a_missing_framework_names_its_install_line() -> None:
    facts = {"error": "ModuleNotFoundError: No module named 'jax'"}
    check = verdict("keras", "jax", facts, CPU, None)
    assert check.status == FAIL and "pip install jax" in check.detail


def test_probe_only_where_another_gpu_could_be(tmp_path: Path) -> None:
    assert not may_hold_other_gpus(tmp_path, system="Linux")
    assert may_hold_other_gpus(tmp_path, system="Darwin")
    (tmp_path / "kfd").write_text("")
    assert may_hold_other_gpus(tmp_path, system="Linux")


def test_rapl_permission_hint() -> None:
    assert rapl_check(1, readable=False).status == INFO
    assert "chmod a+r" in rapl_check(1, readable=False).detail
    assert rapl_check(2, readable=True).status == OK


def test_probe_child_reads_a_rocm_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "from types import SimpleNamespace as N\n"
        "__version__ = '2.13.0+rocm6.2'\n"
        "version = N(cuda=None, hip='6.2')\n"
        "gpu = N(name='AMD Instinct MI300X', total_memory=2**37)\n"
        "cuda = N(is_available=lambda: True, device_count=lambda: 1,\n"
        "         get_device_properties=lambda i: gpu)\n"
        "backends = N(cudnn=N(version=lambda: 3000), mps=N(is_available=lambda: False))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    facts = run_probe("torch", "torch")
    assert facts["error"] == "" and facts["hip"] == "6.2"
    assert [d.label for d in probed_devices(facts, environ={})] == ["AMD Instinct MI300X"]


def test_doctor_on_this_machine_reports_no_gpu_cleanly() -> None:
    done = run_cli("doctor", "--frameworks", "torch", "--run", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("info  GPUs") and "CPU only" in line for line in lines)
    assert any(line.startswith("info  GPUs") and "no GPU: " in line for line in lines)
    assert any(line.startswith("info  install") and "no NVIDIA GPU" in line for line in lines)
    assert any(line.startswith("ok    torch ") and " cpu " in line for line in lines)
    assert any(line.startswith("ok    torch run") and "2 epochs ok" in line for line in lines)


def test_doctor_rejects_an_unknown_framework() -> None:
    done = run_cli("doctor", "--frameworks", "pytorch")
    assert done.returncode == 2 and "--frameworks" in done.stderr and "Traceback" not in done.stderr
    assert "Did you mean 'torch'?" in done.stderr


def test_gpu_extras_split_what_cannot_share_a_venv() -> None:
    """gpu-torch (a CUDA 13 torch) holds no TensorFlow: tensorflow[and-cuda]'s CUDA 12 wheels
    install the same libnccl.so.2; gpu-tf holds no torch and no tensorflow-cpu."""
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert "gpu" not in extras
    assert "torch==2.13.0" in extras["gpu-torch"]
    assert not any(r.startswith("tensorflow") for r in extras["gpu-torch"])
    assert any(r.startswith("tensorflow[and-cuda]") for r in extras["gpu-tf"])
    assert not any(r.startswith(("torch", "tensorflow-cpu")) for r in extras["gpu-tf"])


# --- doctor's probes: side by side, each line as soon as its probe ends -------------------------


class Terminal:
    """A stand-in for stdout that records each line and whether every finished line was flushed
    before anything more was written; flushing a line with `wake_on` sets `woken`."""

    def __init__(self, wake_on: str) -> None:
        self.lines: list[str] = []
        self.unflushed = ""
        self.flushed_each = True
        self.wake_on, self.woken = wake_on, threading.Event()

    def write(self, text: str) -> None:
        self.flushed_each &= "\n" not in self.unflushed
        self.unflushed += text

    def flush(self) -> None:
        if self.wake_on in self.unflushed:
            self.woken.set()
        self.lines += self.unflushed.splitlines()
        self.unflushed = ""


def test_each_probes_lines_are_written_and_flushed_as_it_ends() -> None:
    """torch's probe cannot end until keras/jax's line is on the terminal: a doctor that waited
    for every probe (or did not flush) would make it wait the whole 30 s and fail."""
    terminal = Terminal(wake_on="keras/jax")
    threads_seen: list[int] = []

    def probe(framework: str, backend: str, threads: int) -> dict:
        threads_seen.append(threads)
        if framework == "torch":
            assert terminal.woken.wait(timeout=30), "keras/jax's line was not written first"
        return {"error": "", "version": f"{framework}-{backend}", "gpus": []}

    variants = [("torch", "torch"), ("keras", "jax")]
    facts = doctor_cli.probe_all(variants, probe, cores=2)
    found = doctor_cli.framework_checks([CPU], facts, None, False, terminal)
    assert [variant for variant, _, _ in found] == [("keras", "jax"), ("torch", "torch")]
    assert [line.split()[:3] for line in terminal.lines] == [
        ["ok", "keras/jax", "cpu"],
        ["ok", "torch", "cpu"],
    ]
    assert terminal.flushed_each and not terminal.unflushed
    assert threads_seen == [1, 1]  # two probes on two cores: one thread each


@pytest.mark.parametrize(("variants", "cores", "threads"), [(4, 2, 1), (2, 8, 4), (1, 1, 1)])
def test_probes_share_the_cores(variants: int, cores: int, threads: int) -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def probe(framework: str, backend: str, threads: int) -> dict:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"threads": threads}

    asked = [("keras", str(n)) for n in range(variants)]
    results = dict(doctor_cli.probe_all(asked, probe, cores))
    assert sorted(results) == sorted(asked)
    assert {facts["threads"] for facts in results.values()} == {threads}
    assert most[0] <= min(variants, cores)
