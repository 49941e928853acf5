"""Precision and autotuning as sweep dimensions (issue 14), without a GPU.

The plan: which precision runs where (TF32 and BF16 need Ampere, NumPy is float32 only,
autotuning only matters on GPUs), trial ids that change only off the defaults, the flags and
environment each trial gets. The runners apply them to fake torch / TensorFlow / JAX / Keras
modules (the seams of `tests/test_runners_gpu.py`) and record what is in effect; MFU judges a
trial against the peak of the precision it ran. Real bf16/fp16 trials on this CPU are in
`tests/test_precision_trials.py`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_nvml import FakeNvmlLib, gpu
from test_runners_gpu import (
    FakeTorchDevice,
    fake_jax,
    fake_tf,
    fake_torch,
    jax_array,
    keras_runner,
    keras_settings,
    make_trial,
)

from bench.cli.run import _overrides
from bench.core.config import load
from bench.core.plan import plan
from bench.errors import UsageError
from bench.hardware.devices import Device, discover
from bench.hardware.mfu import mfu_fields, precision_in_effect, spec_peak
from bench.hardware.nvml import Nvml
from bench.launchers.caches import cache_key
from bench.launchers.local import child_env
from bench.runners.torch import TorchRunner

GIB = 2**30
CPU = Device("cpu", "cpu", "Fake CPU", None, 16 * GIB, "4 cores")
AMPERE = Device("cuda:0", "cuda", "NVIDIA A100-SXM4-40GB", 0, 40 * GIB, "", "GPU-a", (8, 0))
VOLTA = Device("cuda:1", "cuda", "Tesla V100-SXM2-16GB", 1, 16 * GIB, "", "GPU-v", (7, 0))
ROCM = Device("cuda:2", "cuda", "AMD Instinct MI300X", 2, 192 * GIB, "ROCm")  # no NVML: unknown


def trials(devices: list[Device], **sweep: object) -> list:
    base = {"frameworks": ["torch", "keras"], "models": ["seed_ffnn"], "repeats": 1} | sweep
    cfg = load(None, {"sweep": base, "train": {"epochs": 2, "samples": 640}}, ["test"])
    return plan(cfg, devices, 1)


def skips(devices: list[Device], **sweep: object) -> dict[tuple[str, str, str, str], str]:
    """(framework, device, precision, autotune) → skip reason ("" when planned to run)."""
    return {
        (t.framework, t.device, t.precision, t.autotune): t.skip for t in trials(devices, **sweep)
    }


# --- config and CLI ------------------------------------------------------------------------------


def test_defaults_are_strict_fp32_and_each_frameworks_own_autotuning() -> None:
    sweep = load(None).sweep
    assert (sweep.precisions, sweep.autotune) == (("fp32",), ("default",))
    assert {(t.precision, t.autotune) for t in trials([CPU])} == {("fp32", "default")}


def test_flags_and_set_give_the_same_sweep() -> None:
    flags = SimpleNamespace(precisions="fp32,bf16", autotune="off,on", set=None)
    by_set = SimpleNamespace(set=["sweep.precisions=fp32,bf16", "sweep.autotune=off,on"])
    for args in (flags, by_set):
        sweep = load(None, *_overrides(args)).sweep
        assert (sweep.precisions, sweep.autotune) == (("fp32", "bf16"), ("off", "on"))


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("precisions", ["fp64"], "from: fp32, tf32, bf16, fp16"),
        ("precisions", ["bf16", "bf16"], "without duplicates"),
        ("autotune", ["max"], "from: default, off, on"),
        ("autotune", [], "a non-empty list of strings"),
    ],
)
def test_bad_values_name_the_key_and_the_choices(key: str, value: list, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        load(None, {"sweep": {key: value}}, ["--set sweep." + key])
    message = str(caught.value)
    assert f"[sweep] {key} = {value!r} is invalid" in message and words in message
    assert "--set sweep." + key in message


# --- plan ----------------------------------------------------------------------------------------


def test_trial_ids_name_precision_and_autotune_only_off_the_defaults() -> None:
    ids = [
        t.trial_id
        for t in trials([AMPERE], precisions=["fp32", "bf16"], autotune=["default", "on"])
    ]
    assert ids == [
        "000-torch-eager-seed_ffnn-cuda0-b64-t1-r0",
        "001-keras-graph-seed_ffnn-cuda0-b64-t1-r0",
        "002-torch-eager-seed_ffnn-cuda0-b64-t1-autotune-on-r0",
        "003-keras-graph-seed_ffnn-cuda0-b64-t1-autotune-on-r0",
        "004-torch-eager-seed_ffnn-cuda0-b64-t1-bf16-r0",
        "005-keras-graph-seed_ffnn-cuda0-b64-t1-bf16-r0",
        "006-torch-eager-seed_ffnn-cuda0-b64-t1-bf16-autotune-on-r0",
        "007-keras-graph-seed_ffnn-cuda0-b64-t1-bf16-autotune-on-r0",
    ]


def test_what_each_device_can_run() -> None:
    found = skips([CPU, AMPERE, VOLTA, ROCM], precisions=["fp32", "tf32", "bf16", "fp16"])
    runs = {key for key, why in found.items() if not why}
    for fw in ("torch", "keras"):
        assert {(p, d) for f, d, p, _ in runs if f == fw} == {
            ("fp32", "cpu"), ("bf16", "cpu"), ("fp16", "cpu"),
            ("fp32", "cuda:0"), ("tf32", "cuda:0"), ("bf16", "cuda:0"), ("fp16", "cuda:0"),
            ("fp32", "cuda:1"), ("fp16", "cuda:1"),  # Volta: no TF32, no BF16 Tensor Cores
            ("fp32", "cuda:2"), ("tf32", "cuda:2"), ("bf16", "cuda:2"), ("fp16", "cuda:2"),
        }  # fmt: skip
    assert "a cpu device has none: use fp32" in found[("torch", "cpu", "tf32", "default")]
    assert found[("keras", "cuda:1", "bf16", "default")] == (
        "BF16 needs Tensor Cores of compute capability 8.0 (Ampere) or later; this GPU has 7.0: "
        "use fp32 or fp16"
    )


def test_numpy_runs_fp32_only_and_says_so() -> None:
    found = skips([CPU], frameworks=["numpy"], models=["seed_cnn"], precisions=["fp32", "bf16"])
    assert found[("numpy", "cpu", "fp32", "default")] == ""
    assert found[("numpy", "cpu", "bf16", "default")] == (
        "the numpy runner computes in float32 only; bf16 is not run"
    )


def test_autotune_on_and_off_run_on_gpus_only() -> None:
    found = skips([CPU, AMPERE], autotune=["default", "off", "on"])
    for fw in ("torch", "keras"):
        assert [found[(fw, "cuda:0", "fp32", a)] for a in ("default", "off", "on")] == ["", "", ""]
        assert found[(fw, "cpu", "fp32", "default")] == ""
        assert "on a CPU it changes nothing" in found[(fw, "cpu", "fp32", "on")]


def test_compute_capability_comes_from_nvml() -> None:
    v100 = gpu("Tesla V100-SXM2-16GB", "GPU-v100", 16 * GIB, 0, bus="0:1", procs=[], cc=(7, 0))
    no_cc = gpu(
        "NVIDIA A10", "GPU-a10", 24 * GIB, 0, bus="0:2", procs=[]
    )  # the call fails: unknown
    devices = discover(Nvml(FakeNvmlLib(gpus=[v100, no_cc])), environ={})
    assert [d.compute_capability for d in devices] == [None, (7, 0), None]
    found = skips(devices[1:], precisions=["tf32"])
    assert "this GPU has 7.0" in found[("torch", "cuda:0", "tf32", "default")]
    assert found[("torch", "cuda:1", "tf32", "default")] == ""


# --- what the child gets -------------------------------------------------------------------------


def test_autotune_reaches_tensorflow_and_xla_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    monkeypatch.delenv("TF_CUDNN_USE_AUTOTUNE", raising=False)
    by_autotune = {t.autotune: t for t in trials([AMPERE], autotune=["default", "off", "on"])}
    off, on = (child_env(by_autotune[a], tmp_path) for a in ("off", "on"))
    assert off["TF_CUDNN_USE_AUTOTUNE"] == "0" and on["TF_CUDNN_USE_AUTOTUNE"] == "1"
    assert off["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_autotune_level=0"
    assert on["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_autotune_level=4"
    default = child_env(by_autotune["default"], tmp_path)  # as the frameworks ship, and the user
    assert "TF_CUDNN_USE_AUTOTUNE" not in default
    assert default["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"


def test_warm_caches_are_kept_apart_by_precision_and_autotune() -> None:
    base = trials([AMPERE])[0]
    keys = {
        cache_key(dataclasses.replace(base, precision=p, autotune=a))
        for p in ("fp32", "bf16")
        for a in ("default", "on")
    }
    assert len(keys) == 4


# --- torch: flags, autocast, scaler --------------------------------------------------------------


def torch_runner(precision: str, autotune: str = "default", **torch: object) -> TorchRunner:
    trial = make_trial("torch", "torch", "cuda")
    runner = TorchRunner(dataclasses.replace(trial, precision=precision, autotune=autotune))
    runner.torch = fake_torch(**torch)  # type: ignore[arg-type]
    runner.init_device()
    runner.model = SimpleNamespace(parameters=lambda: iter([SimpleNamespace(dtype="float32")]))
    return runner


@pytest.mark.parametrize(
    ("precision", "tf32"), [("fp32", "False"), ("tf32", "True"), ("bf16", "False")]
)
def test_torch_allows_tf32_only_in_tf32_trials(precision: str, tf32: str) -> None:
    settings = torch_runner(precision).settings()  # torch ships with cuDNN TF32 on
    assert settings["torch.backends.cudnn.allow_tf32"] == tf32
    assert settings["torch.backends.cuda.matmul.allow_tf32"] == tf32


@pytest.mark.parametrize(
    ("autotune", "benchmark"), [("default", "False"), ("off", "False"), ("on", "True")]
)
def test_torch_autotune_is_cudnn_benchmark(autotune: str, benchmark: str) -> None:
    assert torch_runner("fp32", autotune).settings()["torch.backends.cudnn.benchmark"] == benchmark


def test_torch_bf16_runs_the_step_under_autocast_without_a_scaler() -> None:
    runner = torch_runner("bf16")
    settings = runner.settings()
    assert settings["torch.autocast.enabled"] == "True"
    assert settings["torch.autocast.dtype"] == "torch.bfloat16"
    assert settings["torch.amp.grad_scaler"] == "none"
    assert precision_in_effect("cuda", settings) == "bf16"
    with runner.amp.autocast():
        assert runner.torch.get_autocast_dtype("cuda") == "torch.bfloat16"
    assert not runner.torch.is_autocast_enabled("cuda")  # only around forward and loss


def test_torch_fp16_scales_the_loss() -> None:
    settings = torch_runner("fp16").settings()
    assert settings["torch.autocast.dtype"] == "torch.float16"
    assert settings["torch.amp.grad_scaler"] == "GradScaler(cuda, init_scale=65536)"
    assert precision_in_effect("cuda", settings) == "fp16"


def test_torch_fp32_has_no_autocast() -> None:
    settings = torch_runner("fp32").settings()
    assert (settings["torch.autocast.enabled"], settings["torch.autocast.dtype"]) == (
        "False",
        "none",
    )
    assert precision_in_effect("cuda", settings) == "fp32"


def test_a_device_without_autocast_fails_saying_so() -> None:
    with pytest.raises(
        RuntimeError, match="precision bf16: this torch 2.13.0 has no autocast for cuda"
    ):
        torch_runner("bf16", autocast_devices=("cpu",))


# --- Keras on each backend -----------------------------------------------------------------------


def keras_trial_runner(backend: str, framework: object, tensor: object, precision: str):
    runner = keras_runner(backend, framework, tensor)
    runner.trial = dataclasses.replace(runner.trial, precision=precision)
    runner.init_device()
    return runner


GPU_TENSOR = {
    "tensorflow": SimpleNamespace(device="/job:localhost/replica:0/task:0/device:GPU:0"),
    "jax": jax_array("gpu"),
    "torch": SimpleNamespace(device=FakeTorchDevice("cuda")),
}
FRAMEWORK = {
    "tensorflow": lambda: fake_tf(gpus=1),
    "jax": lambda: fake_jax("gpu"),
    "torch": fake_torch,
}


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
@pytest.mark.parametrize(
    ("precision", "policy", "in_effect"),
    [("fp32", "float32", "fp32"), ("tf32", "float32", "tf32"), ("bf16", "mixed_bfloat16", "bf16"),
     ("fp16", "mixed_float16", "fp16")],
)  # fmt: skip
def test_keras_sets_the_policy_and_its_backends_tf32(
    backend: str, precision: str, policy: str, in_effect: str
) -> None:
    runner = keras_trial_runner(backend, FRAMEWORK[backend](), GPU_TENSOR[backend], precision)
    settings = keras_settings(runner)
    assert settings["keras.dtype_policy"] == policy
    assert precision_in_effect("cuda", settings) == in_effect
    tf32 = {
        "tensorflow": ("tf.tensor_float_32", str(precision == "tf32")),
        "jax": (
            "jax.default_matmul_precision",
            "tensorfloat32" if precision == "tf32" else "float32",
        ),
        "torch": ("torch.backends.cudnn.allow_tf32", str(precision == "tf32")),
    }[backend]
    assert settings[tf32[0]] == tf32[1]


def test_keras_fp16_wraps_the_optimizer_for_loss_scaling() -> None:
    from bench.runners.keras_precision import loss_scaled

    wrapped = []
    keras = SimpleNamespace(optimizers=SimpleNamespace(LossScaleOptimizer=wrapped.append))
    assert loss_scaled(keras, "adam", "bf16") == "adam" and wrapped == []
    loss_scaled(keras, "adam", "fp16")
    assert wrapped == ["adam"]


# --- MFU against the precision's peak ------------------------------------------------------------


def test_mixed_precision_is_read_from_either_frameworks_settings_on_any_device() -> None:
    for kind in ("cpu", "cuda"):
        assert precision_in_effect(kind, {"torch.autocast.dtype": "torch.bfloat16"}) == "bf16"
        assert precision_in_effect(kind, {"keras.dtype_policy": "mixed_float16"}) == "fp16"
        assert precision_in_effect(kind, {"keras.dtype_policy": "float32"}) == "fp32"


@pytest.mark.parametrize(
    ("name", "dtype", "peak"),
    [
        ("NVIDIA A100-SXM4-40GB", "fp16", 312e12),
        ("NVIDIA H100 80GB HBM3", "fp16", 989.5e12),
        ("Tesla T4", "fp16", 65e12),  # Turing: FP16 Tensor Cores, no BF16
        ("Tesla V100-PCIE-16GB", "fp16", 112e12),
        ("Tesla P100-PCIE-16GB", "fp16", 18.7e12),
    ],
)
def test_fp16_spec_peaks_from_the_datasheets(name: str, dtype: str, peak: float) -> None:
    assert spec_peak("cuda", name, dtype, mig=False) == (pytest.approx(peak), "")


def test_bf16_on_a_gpu_without_it_has_no_spec_peak() -> None:
    assert spec_peak("cuda", "Tesla T4", "bf16", mig=False) == (
        None,
        "no bf16 peak on this GPU's spec sheet",
    )


def test_a_bf16_trial_is_judged_against_the_bf16_calibration() -> None:
    rows = [
        {"status": "ok", "framework": "torch", "device": "cpu", "device_name": "CPU"}
        | {"dtype": d, "best_flops_per_s": f}
        for d, f in (("fp32", 1e11), ("bf16", 4e11))
    ]
    fields = mfu_fields(
        flops_per_sample=10**9,
        samples_per_epoch=100,
        steady_epoch_s=1.0,
        framework="torch",
        device="cpu",
        device_kind="cpu",
        device_name="CPU",
        settings={"torch.autocast.dtype": "torch.bfloat16"},
        calibration={"rows": rows},
    )
    assert fields["peak_flops_per_s_calibrated"] == 4e11
    assert fields["mfu_calibrated"] == pytest.approx(0.25)


def test_the_run_summary_names_precision_and_autotune_off_their_defaults() -> None:
    from bench.core.summary import label

    key = {"framework": "torch", "backend": "torch", "mode": "eager", "model": "seed_cnn"}
    key |= {"input_shape": "28x28x1", "device": "cuda:0", "batch_size": 64, "threads": 2}
    plain = "torch/eager seed_cnn 28x28x1 on cuda:0, b64, t2"
    assert label(key | {"precision": "fp32", "autotune": "default"}) == plain
    assert label(key | {"precision": "bf16", "autotune": "on"}) == plain + ", bf16, autotune=on"
