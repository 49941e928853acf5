"""Which GPU install `bench doctor` advises, and the venv clashes it finds, without a GPU.

`install_advice` is a pure function of (driver, compute capabilities), tested with a table. The
NVML end is the fake `pynvml` (`tests/fake_nvml.py`) behind the real `Nvml` seam; the venv end is
fake distributions with the fields `importlib.metadata` gives (`metadata`, `files` with sizes,
`locate_file`) over real files, so that "whose copy is on disk" is read from a real file size.
"""

from __future__ import annotations

from importlib.metadata import PackagePath
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_nvml import GIB, FakeNvmlLib, gpu

from bench.hardware.doctor import FAIL, INFO, install_checks
from bench.hardware.install_advice import (
    TORCH_CU126,
    driver_branch,
    install_advice,
    plugin_driver_gap,
)
from bench.hardware.nvml import Nvml
from bench.hardware.venv import jax_gpu_plugins, overwrites

H100, A100, V100, P100, K80, B200, T4 = (9, 0), (8, 0), (7, 0), (6, 0), (3, 7), (10, 0), (7, 5)


@pytest.mark.parametrize(
    ("driver", "capabilities", "kind", "words"),
    [
        (None, [], "cpu", "no NVIDIA GPU: the CPU extras fit"),
        ("580.65.06", [H100], "cuda13", "'.[gpu-torch]' (torch 2.13 for CUDA 13"),
        ("590.44.01", [T4, A100], "cuda13", "compute capability ≥ 7.5"),
        ("580.65.06", [B200], "cuda13", "'jax[cuda13]'"),
        ("580.65.06", [None], "cuda13", "driver 580.65.06 (≥ 580)"),
        ("550.54.15", [H100], "cu126", "driver 550.54.15 < 580 runs CUDA 12, not CUDA 13"),
        ("525.60.13", [A100], "cu126", TORCH_CU126),
        ("580.65.06", [V100], "cu126", "compute capability 7.0 < 7.5 (CUDA 13 dropped it)"),
        ("570.86.10", [P100, A100], "cu126", "'jax[cuda12]'"),
        (None, [V100], "cu126", TORCH_CU126),
        (None, [H100], "cuda13", "driver version unknown"),
        ("570.86.10", [B200], "none", "update the NVIDIA driver to ≥ 580"),
        ("580.65.06", [V100, B200], "none", "no one torch build has kernels for both"),
        ("470.82.01", [A100], "none", "driver 470.82.01 is older than any CUDA 12 or 13 build"),
        ("550.54.15", [K80], "none", "a GPU of compute capability 3.7: no torch 2.13 build"),
    ],
)
def test_the_install_that_fits(
    driver: str | None, capabilities: list, kind: str, words: str
) -> None:
    advice = install_advice(driver, capabilities)
    assert advice.kind == kind and words in advice.text, advice.text


def test_a_cuda12_machine_keeps_tensorflow_in_its_own_venv() -> None:
    advice = install_advice("550.54.15", [A100])
    assert advice.text.index(TORCH_CU126) < advice.text.index("'.[gpu-torch]'")
    assert "TensorFlow in a venv of its own: pip install -e '.[gpu-tf]'" in advice.text


@pytest.mark.parametrize(
    ("text", "branch"), [("580.65.06", 580), (" 525.60.13", 525), ("", None), (None, None)]
)
def test_driver_branch(text: str | None, branch: int | None) -> None:
    assert driver_branch(text) == branch


@pytest.mark.parametrize(
    ("plugins", "driver_cuda", "gap"),
    [
        (["jax-cuda13-plugin"], "12.4", "jax-cuda13-plugin needs CUDA 13 (driver ≥ 580)"),
        (["jax-cuda13-plugin"], "13.0", ""),
        (["jax-cuda12-plugin"], "12.2", ""),
        (["jax-cuda12-plugin"], "11.8", "needs CUDA 12 (driver ≥ 525)"),
        (["jax-cuda13-plugin"], None, ""),
        (["jax-rocm7-plugin"], "12.4", ""),
    ],
)
def test_plugin_driver_gap(plugins: list[str], driver_cuda: str | None, gap: str) -> None:
    found = plugin_driver_gap(plugins, driver_cuda)
    assert (gap in found) if gap else found == ""


def test_doctor_reads_driver_and_capabilities_from_nvml() -> None:
    """The fake pynvml's A100 and H100 on driver 550: the CUDA 12.6 torch; a V100 among
    driver-580 boards: the same line, because of the V100."""
    gpus = Nvml(FakeNvmlLib()).gpus()
    assert [g.compute_capability for g in gpus] == [A100, H100]
    (check,) = install_checks(gpus, lambda: [])
    assert check.subject == "install" and check.status == INFO
    assert TORCH_CU126 in check.detail and "driver 550.54.15 < 580" in check.detail
    lib = FakeNvmlLib(
        gpus=[gpu("Tesla V100-SXM2-16GB", "GPU-v", 16 * GIB, 0, cc=V100, bus="0:1", procs=[])]
    )
    lib.nvmlSystemGetDriverVersion = lambda: "580.65.06"
    (check,) = install_checks(Nvml(lib).gpus(), lambda: [])
    assert "compute capability 7.0 < 7.5" in check.detail
    (cpu,) = install_checks(None, lambda: [])
    assert "no NVIDIA GPU" in cpu.detail


def dist(root: Path, name: str, version: str, files: dict[str, bytes]) -> SimpleNamespace:
    """A distribution as importlib.metadata gives it: its RECORD lists `files` (path → the
    content this wheel has); what lies on disk under `root` is up to the test."""
    record = []
    for path, content in files.items():
        entry = PackagePath(path)
        entry.size = len(content)
        record.append(entry)
    return SimpleNamespace(
        metadata={"Name": name, "Version": version},
        files=record,
        locate_file=lambda path: root / path,
    )


NCCL = "nvidia/nccl/lib/libnccl.so.2"


@pytest.mark.parametrize("last", ["nvidia-nccl-cu12", "nvidia-nccl-cu13"])
def test_two_nccl_wheels_name_whose_libnccl_is_on_disk(tmp_path: Path, last: str) -> None:
    cu12 = dist(tmp_path, "nvidia-nccl-cu12", "2.25.1", {NCCL: b"x" * 12})
    cu13 = dist(tmp_path, "nvidia_nccl_cu13", "2.29.7", {NCCL: b"x" * 13})
    (tmp_path / NCCL).parent.mkdir(parents=True)
    (tmp_path / NCCL).write_bytes(b"x" * (12 if last.endswith("cu12") else 13))
    (said,) = overwrites(lambda: [cu12, cu13])
    assert said.startswith("nvidia-nccl-cu12 2.25.1 and nvidia-nccl-cu13 2.29.7 both install")
    assert f"the copy on disk is {last}'s (installed last)" in said
    assert "separate venvs" in said


def test_tensorflow_and_tensorflow_cpu_together_is_a_problem(tmp_path: Path) -> None:
    shared = "tensorflow/libtensorflow_framework.so.2"
    tf = dist(tmp_path, "tensorflow", "2.21.0", {shared: b"g" * 30})
    cpu = dist(tmp_path, "tensorflow-cpu", "2.21.0", {shared: b"c" * 20})
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / shared).write_bytes(b"c" * 20)
    checks = install_checks(None, lambda: [tf, cpu])
    assert [c.status for c in checks] == [INFO, FAIL]
    assert "the copy on disk is tensorflow-cpu's" in checks[1].detail
    assert "pip uninstall -y tensorflow tensorflow-cpu" in checks[1].detail


def test_one_of_each_pair_is_no_problem(tmp_path: Path) -> None:
    alone = [
        dist(tmp_path, "nvidia-nccl-cu13", "2.29.7", {NCCL: b"x"}),
        dist(tmp_path, "tensorflow-cpu", "2.21.0", {}),
        dist(tmp_path, "jax-cuda13-plugin", "0.10.2", {}),
    ]
    assert overwrites(lambda: alone) == []
    assert jax_gpu_plugins(lambda: alone) == ["jax-cuda13-plugin"]


def test_a_file_missing_on_disk_cannot_say_whose_copy(tmp_path: Path) -> None:
    cu12 = dist(tmp_path, "nvidia-nccl-cu12", "2.25.1", {NCCL: b"x" * 12})
    cu13 = dist(tmp_path, "nvidia-nccl-cu13", "2.29.7", {NCCL: b"x" * 13})
    (said,) = overwrites(lambda: [cu12, cu13])
    assert "whichever was installed last overwrote the other's files" in said
