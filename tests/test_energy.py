"""Energy readers: RAPL on a temporary sysfs tree, NVML through a fake library, the meter."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.hardware.nvml import Nvml
from bench.trial.energy import EnergyMeter, EnergyReading, NvmlEnergy, RaplReader, package_domains

MAX_UJ = 262_143_328_850


def zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int | None = MAX_UJ) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    if max_uj is not None:
        (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def set_energy(path: Path, energy_uj: int) -> None:
    (path / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    """Two packages, their core/dram subzones, an MMIO duplicate and the control-type folder."""
    zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    zone(tmp_path, "intel-rapl:1", "package-1", 5_000_000)
    zone(tmp_path, "intel-rapl:0:0", "core", 10)
    zone(tmp_path, "intel-rapl:0:1", "dram", 10)
    zone(tmp_path, "intel-rapl-mmio:0", "package-0", 10)
    (tmp_path / "intel-rapl").mkdir()
    return tmp_path


def test_only_package_zones_are_read(sysfs: Path) -> None:
    domains = package_domains(sysfs)
    assert [d.name for d in domains] == ["package-0", "package-1"]
    assert all(d.max_range_uj == MAX_UJ for d in domains)


def test_joules_summed_over_packages(sysfs: Path) -> None:
    reader = RaplReader(sysfs)
    assert reader.available()
    reader.start()
    set_energy(sysfs / "intel-rapl:0", 3_500_000)  # +2.5 J
    set_energy(sysfs / "intel-rapl:1", 5_500_000)  # +0.5 J
    assert reader.read() == pytest.approx(3.0)
    set_energy(sysfs / "intel-rapl:1", 6_500_000)  # +1 J more
    assert reader.read() == pytest.approx(4.0)
    reader.start()  # a new interval starts from zero
    assert reader.read() == 0.0


def test_counter_wrap_is_undone(sysfs: Path) -> None:
    reader = RaplReader(sysfs)
    set_energy(sysfs / "intel-rapl:0", MAX_UJ - 1_000_000)
    reader.start()
    set_energy(sysfs / "intel-rapl:0", 2_000_000)  # wrapped: 1 J before the wrap + 2 J after
    assert reader.read() == pytest.approx(3.0)


def test_poll_catches_a_wrap_that_one_read_would_miss(sysfs: Path) -> None:
    reader = RaplReader(sysfs)
    domain = sysfs / "intel-rapl:0"
    set_energy(domain, 0)
    reader.start()
    for value in (MAX_UJ // 2, MAX_UJ - 1, MAX_UJ // 2):  # 1.5 ranges, polled along the way
        set_energy(domain, value)
        reader.poll()
    assert reader.read() == pytest.approx((MAX_UJ - 1 + MAX_UJ // 2 + 1) / 1e6, rel=1e-9)


def test_wrap_without_a_known_range_is_not_measurable(tmp_path: Path) -> None:
    domain = zone(tmp_path, "intel-rapl:0", "package-0", 5_000_000, max_uj=None)
    reader = RaplReader(tmp_path)
    reader.start()
    set_energy(domain, 6_000_000)
    assert reader.read() == pytest.approx(1.0)
    set_energy(domain, 1_000)
    assert reader.read() is None


def test_no_powercap_tree_means_unavailable(tmp_path: Path) -> None:
    reader = RaplReader(tmp_path / "absent")
    assert reader.domains == [] and not reader.available()
    reader.start()
    assert reader.read() is None


def test_unreadable_counter_is_unavailable_simulated(
    sysfs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied, simulated: works even as root (for whom chmod 000 changes nothing)."""
    real = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    reader = RaplReader(sysfs)
    assert [d.name for d in reader.domains] == ["package-0", "package-1"]
    assert not reader.available()
    reader.start()
    assert reader.read() is None


def test_unreadable_counter_is_unavailable_chmod(sysfs: Path) -> None:
    """Permission denied for real (Linux ≥ 5.10 makes energy_uj root-only)."""
    counter = sysfs / "intel-rapl:1" / "energy_uj"
    counter.chmod(0)
    try:
        if os.access(counter, os.R_OK):
            pytest.skip("running as root: a mode-000 file is still readable")
        reader = RaplReader(sysfs)
        assert not reader.available()
        assert EnergyMeter.detect(root=sysfs).rapl is None
    finally:
        counter.chmod(0o644)


class FakeNVMLError(Exception):
    pass


class EnergyLib:
    """pynvml stand-in: GPU 0 has a settable energy counter (mJ); GPU 1 does not support it."""

    NVMLError = FakeNVMLError

    def __init__(self) -> None:
        self.energy_mj = 1_000_000

    def nvmlDeviceGetHandleByIndex(self, index: int) -> SimpleNamespace:
        return SimpleNamespace(index=index)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: SimpleNamespace) -> int:
        if handle.index != 0:
            raise FakeNVMLError("not supported")
        return self.energy_mj


def test_nvml_energy_in_joules() -> None:
    lib = EnergyLib()
    gpu = NvmlEnergy(Nvml(lib), 0)
    assert gpu.read() is None  # not started
    assert gpu.available()
    gpu.start()
    lib.energy_mj += 123_456
    assert gpu.read() == pytest.approx(123.456)
    lib.energy_mj = 5  # driver reloaded: the counter restarted
    assert gpu.read() is None


def test_nvml_energy_unsupported() -> None:
    gpu = NvmlEnergy(Nvml(EnergyLib()), 1)
    assert not gpu.available()
    gpu.start()
    assert gpu.read() is None


def test_meter_sums_sources(sysfs: Path) -> None:
    lib = EnergyLib()
    meter = EnergyMeter.detect(Nvml(lib), 0, root=sysfs)
    assert meter.sources == "rapl+nvml"
    meter.begin()
    set_energy(sysfs / "intel-rapl:0", 3_000_000)  # +2 J
    lib.energy_mj += 40_000  # +40 J
    meter.poll()
    assert meter.reading() == EnergyReading(cpu_j=pytest.approx(2.0), gpu_j=pytest.approx(40.0))
    assert meter.end() == pytest.approx(42.0)


def test_meter_with_one_source(sysfs: Path, tmp_path: Path) -> None:
    lib = EnergyLib()
    gpu_only = EnergyMeter.detect(Nvml(lib), 0, root=tmp_path / "none")
    assert gpu_only.sources == "nvml"
    gpu_only.begin()
    lib.energy_mj += 2_500
    assert gpu_only.end() == pytest.approx(2.5)
    cpu_only = EnergyMeter.detect(Nvml(lib), 1, root=sysfs)  # GPU 1 has no counter
    assert cpu_only.sources == "rapl"
    cpu_only.begin()
    assert cpu_only.end() == 0.0  # measured, and nothing used: a real zero


def test_meter_with_nothing_measurable_returns_none(tmp_path: Path) -> None:
    meter = EnergyMeter.detect(None, None, root=tmp_path)
    assert meter.sources == ""
    meter.begin()
    meter.poll()
    assert meter.end() is None
    assert EnergyReading(None, None).total_j is None
