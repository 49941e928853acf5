"""MFU arithmetic against hand-computed values, calibrated peaks, and the spec-sheet table."""

from __future__ import annotations

import pytest

from bench.contract.mfu import achieved_flops_per_s, mfu
from bench.hardware.mfu import calibrated_peak, mfu_fields, precision_in_effect
from bench.hardware.peaks import PEAKS, lookup, spec_peak_flops

T = 1e12


def test_achieved_flops_by_hand() -> None:
    # seed_cnn-like: 3 × 1.3 MFLOP forward = 3.9e6 FLOPs per sample, 3200 samples in 0.5 s:
    # 3.9e6 × 3200 = 1.248e10 FLOPs per epoch → 2.496e10 FLOP/s.
    assert achieved_flops_per_s(3.9e6, 3200, 0.5) == pytest.approx(2.496e10)
    # vgg16 at 224 px: 3 × 15.47 GFLOP = 4.641e10 per sample, 1024 samples in 8 s → 5.94e12.
    assert achieved_flops_per_s(4.641e10, 1024, 8.0) == pytest.approx(5.940_48e12)


def test_mfu_by_hand() -> None:
    assert mfu(5.94048e12, 19.5 * T) == pytest.approx(0.304640)  # A100 FP32: 30.5 %
    assert mfu(2.496e10, 1.55e11) == pytest.approx(0.161032, rel=1e-5)


def test_data_parallel_mfu_is_per_device() -> None:
    # world 4 trains 4 × 1000 samples per epoch in the time world 1 trains 1000: the same
    # per-device throughput, so the same achieved FLOP/s per device and the same MFU.
    one = dp_fields(samples_per_epoch=1000, world_size=1)
    four = dp_fields(samples_per_epoch=4000, world_size=4)
    assert four["achieved_flops_per_s"] == one["achieved_flops_per_s"] == pytest.approx(1e12)
    assert four["mfu_spec"] == one["mfu_spec"] == pytest.approx(1e12 / (19.5 * T))
    assert four["mfu_calibrated"] == one["mfu_calibrated"] == pytest.approx(0.5)
    assert achieved_flops_per_s(1e9, 4000, 1.0, 0) is None


A100 = "NVIDIA A100-SXM4-40GB"


def dp_fields(samples_per_epoch: int, world_size: int) -> dict:
    row = {"status": "ok", "framework": "torch", "device": "cuda:0", "device_name": A100}
    calibration = {"rows": [{**row, "dtype": "fp32", "best_flops_per_s": 2e12}]}
    return mfu_fields(
        flops_per_sample=10**9,
        samples_per_epoch=samples_per_epoch,
        steady_epoch_s=1.0,
        framework="torch",
        device="cuda:0",
        device_kind="cuda",
        device_name=A100,
        settings={},
        calibration=calibration,
        world_size=world_size,
    )


@pytest.mark.parametrize(
    "args", [(None, 3200, 0.5), (3.9e6, None, 0.5), (3.9e6, 3200, None), (3.9e6, 3200, 0.0)]
)
def test_achieved_is_none_when_not_measurable(args: tuple) -> None:
    assert achieved_flops_per_s(*args) is None


@pytest.mark.parametrize(("achieved", "peak"), [(None, 1.0), (1.0, None), (1.0, 0.0), (0.0, 1.0)])
def test_mfu_is_none_when_not_measurable(achieved: float | None, peak: float | None) -> None:
    assert mfu(achieved, peak) is None


def _row(framework: str, device: str, name: str, dtype: str, n: int, best: float | None) -> dict:
    status = "ok" if best is not None else "failed"
    keys = ("framework", "device", "device_name", "dtype", "n", "status", "best_flops_per_s")
    return dict(zip(keys, (framework, device, name, dtype, n, status, best), strict=True))


A100 = "NVIDIA A100-SXM4-40GB"
CALIBRATION = {
    "kind": "calibration",
    "rows": [
        _row("torch", "cpu", "EPYC", "fp32", 1024, 1.2e11),
        _row("torch", "cpu", "EPYC", "fp32", 2048, 1.5e11),
        _row("keras", "cpu", "EPYC", "fp32", 2048, 1.4e11),
        _row("torch", "cuda:0", A100, "fp32", 4096, None),
        _row("torch", "cuda:0", A100, "tf32", 4096, 1.3e14),
    ],
}


def test_calibrated_peak_is_the_best_matching_row() -> None:
    assert calibrated_peak(CALIBRATION, "torch", "cpu") == 1.5e11
    assert calibrated_peak(CALIBRATION, "keras", "cpu") == 1.4e11
    assert calibrated_peak(CALIBRATION, "torch", "cuda:0", "tf32") == 1.3e14
    assert calibrated_peak(CALIBRATION, "torch", "cuda:0", "fp32") is None  # only a failed row
    assert calibrated_peak(CALIBRATION, "torch", "cpu", device_name="other CPU") is None
    assert calibrated_peak(None, "torch", "cpu") is None
    assert calibrated_peak({}, "torch", "cpu") is None


def test_a_gpu_calibration_follows_its_uuid_not_its_cuda_index() -> None:
    """CUDA_VISIBLE_DEVICES renumbers GPUs: the board calibrated as cuda:0 may run a trial as
    cuda:1, and an identical board in the calibrated slot is another GPU."""
    row = {**_row("torch", "cuda:0", A100, "tf32", 4096, 1.3e14), "device_uuid": "GPU-aaa"}
    cal = {"rows": [row]}
    assert calibrated_peak(cal, "torch", "cuda:1", "tf32", A100, uuid="GPU-aaa") == 1.3e14
    assert calibrated_peak(cal, "torch", "cuda:0", "tf32", A100, uuid="GPU-bbb") is None
    # a calibration written before UUIDs were recorded still matches by index and name
    assert calibrated_peak(CALIBRATION, "torch", "cuda:0", "tf32", A100, uuid="GPU-x") == 1.3e14
    fields = mfu_fields(
        flops_per_sample=10**9,
        samples_per_epoch=1000,
        steady_epoch_s=1.0,
        framework="keras",
        device="cuda:1",
        device_kind="cuda",
        device_name=A100,
        settings={"tf.tensor_float_32": "True"},
        calibration=cal,
        device_uuid="GPU-aaa",
    )
    assert fields["peak_flops_per_s_calibrated"] == 1.3e14
    assert fields["peak_calibrated_by"] == "torch"


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H100 NVL", "H100 NVL"),
        ("NVIDIA H200", "H200 SXM"),
        ("NVIDIA H200 NVL", "H200 NVL"),
        ("NVIDIA A100-SXM4-40GB", "A100"),
        ("NVIDIA A100 80GB PCIe", "A100"),
        ("Tesla V100-SXM2-16GB", "V100 SXM2"),
        ("Tesla V100-PCIE-32GB", "V100 PCIe"),
        ("Tesla V100S-PCIE-32GB", "V100S PCIe"),
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
        ("NVIDIA GeForce RTX 3090", "GeForce RTX 3090"),
        ("Tesla T4", "T4"),
        ("NVIDIA L4", "L4"),
        ("Tesla P100-PCIE-16GB", "P100 PCIe"),
        ("Tesla P100-SXM2-16GB", "P100 SXM2"),
    ],
)
def test_lookup_by_nvml_name(name: str, model: str) -> None:
    peak = lookup(name)
    assert peak is not None and peak.model == model


@pytest.mark.parametrize(
    "name",
    ["NVIDIA L40S", "NVIDIA GeForce RTX 3090 Ti", "NVIDIA GH200 480GB", "AMD EPYC", "NVIDIA A10"],
)
def test_lookalikes_are_not_matched(name: str) -> None:
    assert lookup(name) is None


def test_spec_numbers_dense_from_datasheets() -> None:
    assert spec_peak_flops("NVIDIA H100 80GB HBM3") == 67 * T
    assert spec_peak_flops("NVIDIA H100 80GB HBM3", "bf16") == 1979 * T / 2  # "1,979*" sparse
    assert spec_peak_flops("NVIDIA A100-SXM4-80GB", "tf32") == 156 * T
    assert spec_peak_flops("NVIDIA L4", "bf16") == 242 * T / 2
    assert spec_peak_flops("Tesla T4", "bf16") is None  # Turing has no BF16 Tensor Cores
    assert spec_peak_flops("unknown GPU") is None
    with pytest.raises(ValueError, match="dtype"):
        spec_peak_flops("NVIDIA L4", "fp8")


def test_table_is_consistent() -> None:
    for peak in PEAKS:
        assert peak.fp32 > 0 and peak.source
        for fast in (peak.tf32, peak.bf16):
            assert fast is None or fast >= peak.fp32
        if peak.tf32 and peak.bf16:
            assert peak.bf16 == pytest.approx(2 * peak.tf32, rel=0.02)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("None", "tf32"), ("default", "tf32"), ("tensorfloat32", "tf32"), ("highest", "fp32")],
)
def test_keras_on_jax_precision_picks_the_peak(value: str, expected: str) -> None:
    """JAX's default matmul precision (None) runs TF32 on GPUs that have it; "highest" is FP32."""
    assert precision_in_effect("cuda", {"jax.default_matmul_precision": value}) == expected
    assert precision_in_effect("cpu", {"jax.default_matmul_precision": value}) == "fp32"


def test_torch_flags_pick_the_peak_whichever_runner_wrote_them() -> None:
    """The torch runner and Keras on torch write the same keys."""
    assert precision_in_effect("cuda", {"torch.backends.cudnn.allow_tf32": "True"}) == "tf32"
    assert precision_in_effect("cuda", {"torch.backends.cudnn.allow_tf32": "False"}) == "fp32"
    assert precision_in_effect("cuda", {}) == "fp32"


TF32_ALLOWED = {"torch.backends.cudnn.allow_tf32": "True"}


def spec_fields(name: str, settings: dict[str, str], *, mig: bool = False) -> dict:
    """trials.csv's spec-sheet columns for 1e12 useful FLOP/s on GPU `name`."""
    return mfu_fields(
        flops_per_sample=10**9,
        samples_per_epoch=1000,
        steady_epoch_s=1.0,
        framework="torch",
        device="cuda:0",
        device_kind="cuda",
        device_name=name,
        settings=settings,
        calibration=None,
        mig=mig,
    )


@pytest.mark.parametrize(
    ("name", "fp32"),
    [("Tesla V100-SXM2-16GB", 15.7 * T), ("Tesla T4", 8.1 * T), ("Tesla P100-PCIE-16GB", 9.3 * T)],
)
def test_tf32_allowed_on_a_gpu_without_tf32_is_judged_against_fp32(name: str, fp32: float) -> None:
    fields = spec_fields(name, TF32_ALLOWED)
    assert fields["peak_flops_per_s_spec"] == fp32
    assert fields["mfu_spec"] == pytest.approx(1e12 / fp32)
    assert "FP32 peak" in fields["peak_spec_note"]


def test_tf32_on_ampere_uses_the_tf32_peak_without_a_note() -> None:
    fields = spec_fields("NVIDIA A100-SXM4-40GB", TF32_ALLOWED)
    assert fields["peak_flops_per_s_spec"] == 156 * T and fields["peak_spec_note"] == ""
    assert spec_fields("NVIDIA A100-SXM4-40GB", {})["peak_flops_per_s_spec"] == 19.5 * T


def test_no_spec_peak_for_a_mig_slice() -> None:
    fields = spec_fields("NVIDIA A100-SXM4-40GB MIG 1g.5gb", TF32_ALLOWED, mig=True)
    assert fields["peak_flops_per_s_spec"] is None and fields["mfu_spec"] is None
    assert "MIG slice" in fields["peak_spec_note"]
    assert fields["achieved_flops_per_s"] == 1e12  # what was measured is still reported


def test_spec_note_says_why_the_peak_is_empty() -> None:
    assert "not in the spec-sheet table" in spec_fields("NVIDIA A10", {})["peak_spec_note"]


def test_every_framework_on_a_device_is_judged_against_the_devices_best_peak() -> None:
    """One yardstick per device: torch's MFU is not inflated by its own slower matmuls."""
    fields = {
        fw: mfu_fields(
            flops_per_sample=10**9,
            samples_per_epoch=100,
            steady_epoch_s=1.0,
            framework=fw,
            device="cpu",
            device_kind="cpu",
            device_name="EPYC",
            settings={},
            calibration=CALIBRATION,
        )
        for fw in ("torch", "keras")
    }
    assert {f["peak_flops_per_s_calibrated"] for f in fields.values()} == {1.5e11}
    assert {f["peak_calibrated_by"] for f in fields.values()} == {"torch"}
    assert fields["keras"]["mfu_calibrated"] == pytest.approx(1e11 / 1.5e11)
    assert fields["keras"]["mfu_calibrated_own"] == pytest.approx(1e11 / 1.4e11)
