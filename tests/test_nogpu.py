"""Why there is no GPU (issue 32): `bench.hardware.nogpu.diagnose` over made-up facts — the
environment, a stand-in torch with `version.cuda` None or set, whether the NVML library loads
and `/dev/nvidia*` exists, NVML's board count — and the commands that tell it: `devices` prints
a `no GPU: <why> — <fix>` line per reason, `--devices cuda` exits 2 with them in its paragraph.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from test_cli import assert_usage_error
from test_doctor import fake_torch

from bench.hardware.nogpu import Facts, diagnose, torch_build


def facts(**changes: object) -> Facts:
    """A Linux GPU machine where everything works; `changes` break one fact at a time."""
    base = {
        "environ": {},
        "torch": fake_torch(cuda="12.8"),
        "nvml_library": True,
        "device_files": True,
        "boards": 2,
        "system": "Linux",
    }
    return Facts(**{**base, **changes})


def whys(found: Facts) -> list[str]:
    return [reason.why for reason in diagnose(found)]


def test_nothing_to_say_where_everything_works() -> None:
    assert diagnose(facts()) == []
    assert diagnose(facts(torch=None)) == []  # torch not installed: not a reason
    assert diagnose(facts(torch=fake_torch(hip="6.2"))) == []  # ROCm builds have no cuda


def test_no_driver_at_all() -> None:
    (reason,) = diagnose(facts(nvml_library=False, device_files=False, boards=None))
    assert reason.why.startswith("no NVIDIA driver")
    assert "install the NVIDIA driver" in reason.fix and "--gpus all" in reason.fix
    assert str(reason) == f"{reason.why} — {reason.fix}" and "\n" not in str(reason)


@pytest.mark.parametrize(
    ("changes", "why", "fix"),
    [
        ({"device_files": False}, "no /dev/nvidia* device", "modprobe nvidia"),
        ({"nvml_library": False, "boards": None}, "libnvidia-ml cannot be loaded", "nvidia-smi"),
        ({"boards": 0}, "NVML lists no GPU", "nvidia-smi"),
    ],
)
def test_half_a_driver(changes: dict, why: str, fix: str) -> None:
    (reason,) = diagnose(facts(**changes))
    assert why in reason.why and fix in reason.fix


def test_a_cpu_only_torch() -> None:
    (reason,) = diagnose(facts(torch=fake_torch(cuda=None)))
    assert reason.why == "torch 2.13.0 is a CPU-only build (torch.version.cuda is None)"
    assert "pip install -e '.[gpu-torch]'" in reason.fix and "whl/cu126" in reason.fix


@pytest.mark.parametrize("value", ["", " ", "-1", "-1,0"])
def test_cuda_visible_devices_that_hides_every_gpu(value: str) -> None:
    (reason,) = diagnose(facts(environ={"CUDA_VISIBLE_DEVICES": value}))
    assert "CUDA_VISIBLE_DEVICES" in reason.why and "hides every GPU" in reason.why
    assert reason.fix.startswith("unset CUDA_VISIBLE_DEVICES")


def test_cuda_visible_devices_that_names_no_gpu_of_this_machine() -> None:
    (reason,) = diagnose(facts(environ={"CUDA_VISIBLE_DEVICES": "7"}))
    assert reason.why == (
        "CUDA_VISIBLE_DEVICES='7' names none of this machine's 2 GPU(s) (indices 0..1, or "
        "GPU-/MIG- UUIDs)"
    )


def test_every_reason_is_told_most_direct_first() -> None:
    found = facts(
        environ={"CUDA_VISIBLE_DEVICES": ""},
        torch=fake_torch(cuda=None),
        nvml_library=False,
        device_files=False,
        boards=None,
    )
    assert [w.split(" ")[0] for w in whys(found)] == ["CUDA_VISIBLE_DEVICES", "no", "torch"]


def test_macos_has_no_cuda() -> None:
    found = facts(system="Darwin", torch=fake_torch(), nvml_library=False, device_files=False)
    (reason,) = diagnose(found)
    assert "macOS has no CUDA" in reason.why and reason.fix == "use --devices mps"


@pytest.mark.parametrize(
    ("text", "cuda", "hip"),
    [
        ("__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\nhip = None\n", None, None),
        ("__version__ = '2.13.0'\ncuda = '12.8'\nhip: Optional[str] = None\n", "12.8", None),
        ("__version__ = '2.13.0+rocm6.2'\ncuda = None\nhip = '6.2.4'\n", None, "6.2.4"),
    ],
)
def test_torch_build_is_read_from_its_version_file(
    tmp_path: Path, text: str, cuda: str | None, hip: str | None
) -> None:
    (tmp_path / "version.py").write_text("from typing import Optional\n" + text)
    build = torch_build(tmp_path / "__init__.py")
    assert (build.version.cuda, build.version.hip) == (cuda, hip)
    assert build.__version__.startswith("2.13.0")


def test_torch_build_without_torch_or_its_version_file(tmp_path: Path) -> None:
    assert torch_build(None) is None
    unreadable = torch_build(tmp_path / "__init__.py")  # no version.py: assume nothing is wrong
    assert diagnose(facts(torch=unreadable)) == []


def test_devices_prints_a_line_per_reason() -> None:
    done = run_cli("devices", env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("no GPU: ")]
    assert lines[0].startswith("no GPU: CUDA_VISIBLE_DEVICES is set but empty")
    assert all(" — " in line for line in lines)


def test_asking_for_a_gpu_on_a_machine_without_one_says_why(tmp_path: Path) -> None:
    done = run_cli(
        "run", "--dry-run", "--devices", "cuda", "--out", str(tmp_path),
        env={"CUDA_VISIBLE_DEVICES": "-1"},
    )  # fmt: skip
    assert_usage_error(
        done,
        "[sweep] devices",
        'device "cuda" is not available, there is no GPU here: (1) '
        "CUDA_VISIBLE_DEVICES='-1' hides every GPU — unset CUDA_VISIBLE_DEVICES",
        "choose from: auto, cpu",
    )
    done = run_cli("doctor", "--devices", "cpu,cuda:0", env={"CUDA_VISIBLE_DEVICES": ""})
    assert_usage_error(done, "doctor: --devices", "CUDA_VISIBLE_DEVICES is set but empty")
