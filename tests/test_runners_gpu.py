"""GPU truth (issue 11): a trial runs on the device it names, or fails saying why.

Fake framework modules stand in at the narrow seams — the module a runner holds, the module a
placement check is handed — so the runners' own logic runs for real on a machine without a GPU:
placement checks (CPU-only builds, no visible GPU, driver problems, ROCm, MPS), the Keras-on-JAX
sync on the trainer's state, the precision flags each backend records, and JAX's memory probes.
Real trials and calibrations on this CPU-only machine asking for `cuda:0` end `failed` with the
message, in `tests/test_gpu_truth_e2e.py`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from bench.contract.trial import Trial
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import Device
from bench.hardware.mfu import precision_in_effect
from bench.hardware.placement import (
    PlacementError,
    jax_device_error,
    tf_device_error,
    torch_device_error,
)
from bench.runners.keras import KerasRunner
from bench.runners.torch import TorchRunner, host


def make_trial(framework: str = "torch", backend: str = "torch", kind: str = "cuda") -> Trial:
    """A planned trial of seed_ffnn on a device of `kind` (a GPU nobody has to own)."""
    sweep: dict[str, Any] = {"frameworks": [framework], "models": ["seed_ffnn"]}
    if framework == "keras":
        sweep |= {"keras_backends": [backend], "keras_modes": ["eager"]}
    cfg = load(None, {"sweep": sweep}, ["test"])
    name = {"cuda": "cuda:0"}.get(kind, kind)
    index = 0 if kind == "cuda" else None
    return plan(cfg, [Device(name, kind, "Fake GPU", index, 0, "")], 1)[0]  # type: ignore[arg-type]


# --- fake torch -------------------------------------------------------------------------------


class FakeScaler:
    """torch.amp.GradScaler's surface: the device it was made for, its scale."""

    def __init__(self, device: str) -> None:
        self.device = device

    def get_scale(self) -> float:
        return 65536.0


def fake_amp(autocast_devices: tuple[str, ...] = ("cpu", "cuda", "mps")) -> dict[str, Any]:
    """torch's autocast API: a context that sets the device's autocast dtype while open, on the
    device types that have autocast."""
    active: dict[str, str] = {}

    @contextlib.contextmanager
    def autocast(device_type: str, dtype: str) -> Iterator[None]:
        active[device_type] = dtype
        yield
        del active[device_type]

    return {
        "autocast": autocast,
        "is_autocast_enabled": lambda device: device in active,
        "get_autocast_dtype": lambda device: active[device],
        "bfloat16": "torch.bfloat16",
        "float16": "torch.float16",
        "amp": SimpleNamespace(
            is_autocast_available=lambda d: d in autocast_devices, GradScaler=FakeScaler
        ),
    }


class FakeTorchDevice:
    def __init__(self, name: str) -> None:
        self.name, self.type = name, name.split(":")[0]


def fake_torch(
    *,
    cuda: str | None = "12.4",
    hip: str | None = None,
    available: bool = True,
    init_error: str = "",
    mps: tuple[bool, bool] = (False, False),
    lands_on: str = "",
    autocast_devices: tuple[str, ...] = ("cpu", "cuda", "mps"),
) -> SimpleNamespace:
    """A torch module: its build (`cuda`, `hip`), what it sees, and where tensors really land."""
    calls: list[str] = []

    def init() -> None:
        if init_error:
            raise RuntimeError(init_error)

    def zeros(*shape: int, device: FakeTorchDevice) -> SimpleNamespace:
        return SimpleNamespace(device=FakeTorchDevice(lands_on or device.name))

    memory = iter([100, 300, 200, 150, 50, 400])
    return SimpleNamespace(
        __version__="2.13.0",
        calls=calls,
        version=SimpleNamespace(cuda=cuda, hip=hip),
        cuda=SimpleNamespace(
            is_available=lambda: available,
            init=init,
            set_device=lambda d: calls.append("cuda.set_device"),
            synchronize=lambda: calls.append("cuda.synchronize"),
            get_device_name=lambda d: "AMD Instinct MI300X" if hip else "NVIDIA H100",
        ),
        mps=SimpleNamespace(
            synchronize=lambda: calls.append("mps.synchronize"),
            current_allocated_memory=lambda: next(memory),
            driver_allocated_memory=lambda: 1000,
        ),
        backends=SimpleNamespace(
            mps=SimpleNamespace(
                is_built=lambda: mps[0], is_available=lambda: mps[1], get_name=lambda: "Apple M2"
            ),
            cudnn=SimpleNamespace(allow_tf32=True, benchmark=False, version=lambda: 90100),
            cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
            mkldnn=SimpleNamespace(is_available=lambda: True, enabled=True),
        ),
        device=FakeTorchDevice,
        zeros=zeros,
        set_num_threads=lambda n: None,
        set_num_interop_threads=lambda n: None,
        manual_seed=lambda s: None,
        get_num_threads=lambda: 1,
        get_num_interop_threads=lambda: 1,
        get_float32_matmul_precision=lambda: "highest",
        **fake_amp(autocast_devices),
    )


def torch_runner(torch: Any, kind: str = "cuda") -> TorchRunner:
    runner = TorchRunner(make_trial("torch", "torch", kind))
    runner.torch = torch
    return runner


# --- 2: placement, torch ------------------------------------------------------------------------


def test_torch_runner_refuses_cuda_on_a_cpu_only_build() -> None:
    runner = torch_runner(fake_torch(cuda=None, available=False))
    with pytest.raises(PlacementError) as caught:
        runner.init_device()
    assert str(caught.value) == (
        "asked for cuda:0, but this torch is a CPU-only build (torch.version.cuda is None); "
        "install a CUDA build in a venv of its own: pip install -e '.[gpu-torch]' (torch 2.13.0 "
        "from PyPI on Linux x86_64 is a CUDA 13 build: driver ≥ 580, compute capability ≥ 7.5; "
        "for an older driver or GPU run pip install torch==2.13.0 --index-url "
        "https://download.pytorch.org/whl/cu126 first; the install line of `bench doctor` says "
        "which fits)"
    )


def test_torch_runner_refuses_a_tensor_that_lands_elsewhere() -> None:
    runner = torch_runner(fake_torch(lands_on="cpu"))  # says CUDA works, puts tensors on the CPU
    with pytest.raises(PlacementError, match="cuda:0, but torch's first tensor is on cpu"):
        runner.init_device()


def test_torch_cuda_errors_tell_driver_from_no_visible_gpu() -> None:
    driver = fake_torch(available=False, init_error="Found no NVIDIA driver on your system.\nx")
    hidden = fake_torch(available=False, init_error="No CUDA GPUs are available")
    assert "cannot use the GPU driver (Found no NVIDIA driver on your system.)" in (
        torch_device_error(driver, "cuda", "cuda:1")
    )
    message = torch_device_error(hidden, "cuda", "cuda:1")
    assert message.startswith("asked for cuda:1, but torch 2.13.0 (built for CUDA 12.4) sees no")
    assert "CUDA_VISIBLE_DEVICES" in message
    assert torch_device_error(fake_torch(), "cuda", "cuda:1") == ""
    assert torch_device_error(fake_torch(cuda=None, available=False), "cpu", "cpu") == ""


def test_rocm_torch_is_a_cuda_device_and_its_hip_version_is_recorded() -> None:
    runner = torch_runner(fake_torch(cuda=None, hip="6.2.41133"))
    runner.init_device()
    assert runner.device.type == "cuda" and runner.sync() is None
    assert runner.torch.calls == ["cuda.set_device", "cuda.synchronize"]
    runner.model = SimpleNamespace(parameters=lambda: iter([SimpleNamespace(dtype="float32")]))
    settings = runner.settings()
    assert settings["torch.version.hip"] == "6.2.41133"
    assert settings["cuda.device_name"] == "AMD Instinct MI300X"


def test_torch_runner_on_mps_syncs_and_probes_mps_memory() -> None:
    runner = torch_runner(fake_torch(cuda=None, mps=(True, True)), kind="mps")
    runner.init_device()
    assert runner.device.type == "mps"
    runner.sync()
    assert runner.torch.calls == ["mps.synchronize"]
    probes = runner.device_peaks()
    assert [p.source for p in probes] == [
        "torch_mps_current_allocated_memory_at_bounds",
        "torch_mps_driver_allocated_memory_at_bounds",
    ]
    current = probes[0]
    current.reset()  # 100 at the start
    assert current.peak() == 300  # 300 at the end: the larger reading
    current.reset()  # 200
    assert current.peak() == 200  # 150 at the end: the start was larger
    runner.model = SimpleNamespace(parameters=lambda: iter([SimpleNamespace(dtype="float32")]))
    assert runner.settings()["mps.device_name"] == "Apple M2"


@pytest.mark.parametrize(
    ("mps", "words"),
    [((False, False), "built without MPS"), ((True, False), r"is_available\(\) is False")],
)
def test_torch_mps_errors(mps: tuple[bool, bool], words: str) -> None:
    runner = torch_runner(fake_torch(cuda=None, mps=mps), kind="mps")
    with pytest.raises(PlacementError, match=words):
        runner.init_device()


# --- 2: placement, TensorFlow and JAX ----------------------------------------------------------


def fake_tf_experimental() -> SimpleNamespace:
    """tf.config.experimental: memory growth, and TensorFloat-32 (on, as TensorFlow ships)."""
    flags = SimpleNamespace(set_memory_growth=lambda gpu, on: None, tf32=True)
    flags.enable_tensor_float_32_execution = lambda on: setattr(flags, "tf32", on)
    flags.tensor_float_32_execution_enabled = lambda: flags.tf32
    return flags


def fake_tf(*, gpus: int = 0, cuda_build: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        __version__="2.21.0",
        config=SimpleNamespace(
            list_physical_devices=lambda kind: [f"GPU:{i}" for i in range(gpus)],
            threading=SimpleNamespace(
                set_intra_op_parallelism_threads=lambda n: None,
                set_inter_op_parallelism_threads=lambda n: None,
                get_intra_op_parallelism_threads=lambda: 1,
                get_inter_op_parallelism_threads=lambda: 1,
            ),
            experimental=fake_tf_experimental(),
        ),
        test=SimpleNamespace(
            is_built_with_cuda=lambda: cuda_build, is_built_with_rocm=lambda: False
        ),
        sysconfig=SimpleNamespace(get_build_info=lambda: {"cuda_version": "12.5.1"}),
    )


class FakeJaxDevice:
    def __init__(self, platform: str) -> None:
        self.platform, self.device_kind = platform, "NVIDIA H100" if platform == "gpu" else "cpu"
        self.stats: dict[str, int] | None = {} if platform == "gpu" else None

    def memory_stats(self) -> dict[str, int] | None:
        return None if self.stats is None else dict(self.stats)


def fake_jax(platform: str = "cpu") -> SimpleNamespace:
    device = FakeJaxDevice(platform)
    blocked: list[Any] = []
    return SimpleNamespace(
        __version__="0.10.2",
        blocked=blocked,
        device=device,
        devices=lambda: [device],
        block_until_ready=lambda tree: blocked.append(tree) or tree,
        config=fake_jax_config(),
    )


def fake_jax_config() -> SimpleNamespace:
    """jax.config: the default matmul precision (None, as JAX ships) and `update`."""
    config = SimpleNamespace(jax_default_matmul_precision=None)
    config.update = lambda name, value: setattr(config, name, value)
    return config


def fake_keras(backend: str, tensor: Any) -> SimpleNamespace:
    """Keras whose `ops.zeros` gives `tensor` (what its backend made) and records fetches."""
    fetched: list[Any] = []
    return SimpleNamespace(
        fetched=fetched,
        ops=SimpleNamespace(zeros=lambda shape: tensor, convert_to_numpy=fetched.append),
        utils=SimpleNamespace(set_random_seed=lambda seed: None),
        backend=SimpleNamespace(backend=lambda: backend),
        config=fake_keras_config(),
    )


def fake_keras_config() -> SimpleNamespace:
    """keras.config: floatx, and the global dtype policy (float32, as Keras ships)."""
    config = SimpleNamespace(floatx=lambda: "float32", policy="float32")
    config.set_dtype_policy = lambda name: setattr(config, "policy", name)
    config.dtype_policy = lambda: SimpleNamespace(name=config.policy)
    return config


def keras_runner(backend: str, framework: Any, tensor: Any, kind: str = "cuda") -> KerasRunner:
    runner = KerasRunner(make_trial("keras", backend, kind))
    runner.keras = fake_keras(backend, tensor)
    runner.framework = framework
    runner.tf = framework if backend == "tensorflow" else None
    return runner


def test_tf_cpu_only_build_is_a_clear_error() -> None:
    assert tf_device_error(fake_tf(), "cuda", "cuda:0") == (
        "asked for cuda:0, but TensorFlow sees no GPU: this TensorFlow 2.21.0 is a CPU-only build "
        "(tensorflow-cpu); install tensorflow[and-cuda] in a venv of its own: pip install -e "
        "'.[gpu-tf]'"
    )
    cuda_build = tf_device_error(fake_tf(cuda_build=True), "cuda", "cuda:0")
    assert "(built for CUDA 12.5.1) sees no GPU: its GPU libraries or the driver" in cuda_build
    assert tf_device_error(fake_tf(gpus=1), "cuda", "cuda:0") == ""


def test_keras_on_tensorflow_refuses_cuda_without_a_gpu() -> None:
    cpu_tensor = SimpleNamespace(device="/job:localhost/replica:0/task:0/device:CPU:0")
    runner = keras_runner("tensorflow", fake_tf(), cpu_tensor)
    with pytest.raises(PlacementError, match="CPU-only build"):
        runner.init_device()


def test_keras_on_tensorflow_refuses_a_tensor_soft_placed_on_the_cpu() -> None:
    cpu_tensor = SimpleNamespace(device="/job:localhost/replica:0/task:0/device:CPU:0")
    runner = keras_runner("tensorflow", fake_tf(gpus=1), cpu_tensor)
    with pytest.raises(PlacementError, match="Keras's first tensor .tensorflow backend. is on cpu"):
        runner.init_device()


def test_jax_with_only_cpu_devices_is_a_clear_error() -> None:
    assert jax_device_error(fake_jax("cpu"), "cuda", "cuda:0", []) == (
        "asked for cuda:0, but JAX sees only cpu devices: this jaxlib has no GPU plugin; "
        "install a CUDA build: pip install 'jax[cuda13]' (driver ≥ 580), or 'jax[cuda12]' with "
        "a CUDA 12 stack (driver ≥ 525)"
    )
    assert jax_device_error(fake_jax("gpu"), "cuda", "cuda:0", []) == ""


def test_jax_with_a_plugin_that_failed_says_so_with_jaxs_error() -> None:
    """A plugin installed but failed (an old driver) is not told to install a plugin: the error
    JAX kept in `jax._src.xla_bridge._backend_errors` is quoted."""
    jax = fake_jax("cpu")
    jax._src = SimpleNamespace(
        xla_bridge=SimpleNamespace(
            _backend_errors={
                "cuda": "INTERNAL: CUDA error: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH\nmore"
            }
        )
    )
    broken = jax_device_error(jax, "cuda", "cuda:0", ["jax-cuda13-plugin"])
    assert broken.startswith("asked for cuda:0, but JAX sees only cpu devices: jax-cuda13-plugin")
    assert "installed but failed to load" in broken and "pip install" not in broken
    assert broken.endswith("JAX said: INTERNAL: CUDA error: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH more")
    quiet = jax_device_error(fake_jax("cpu"), "cuda", "cuda:0", ["jax-cuda12-plugin"])
    assert "jax-cuda12-plugin is installed but failed to load" in quiet
    assert quiet.endswith("(the log says why)")


def test_jax_plugin_whose_initialize_raised_is_quoted_from_jaxs_log() -> None:
    """JAX logs a plugin whose `initialize()` raised ("Jax plugin configuration error") and
    falls back to the CPU: the exception it logged is the reason given."""
    jax = fake_jax("cpu")
    cpu_only = jax.devices

    def devices() -> list:
        try:
            raise RuntimeError("Unable to use CUDA because of the following issues:\ncuDNN 9.1")
        except RuntimeError:
            logging.getLogger("jax._src.xla_bridge").exception("Jax plugin configuration error")
        return cpu_only()

    jax.devices = devices
    said = jax_device_error(jax, "cuda", "cuda:0", ["jax-cuda13-plugin"])
    assert said.endswith(
        "JAX said: RuntimeError: Unable to use CUDA because of the following issues: cuDNN 9.1"
    )


def test_jax_whose_gpu_backend_raised_names_the_error() -> None:
    jax = fake_jax("cpu")

    def devices() -> list:
        raise RuntimeError("Unable to initialize backend 'cuda': INTERNAL: cuInit failed")

    jax.devices = devices
    assert jax_device_error(jax, "cuda", "cuda:0", ["jax-cuda13-plugin"]) == (
        "asked for cuda:0, but JAX could not start its GPU backend (Unable to initialize "
        "backend 'cuda': INTERNAL: cuInit failed)"
    )


def jax_array(platform: str) -> SimpleNamespace:
    return SimpleNamespace(devices=lambda: {FakeJaxDevice(platform)})


def test_keras_on_jax_refuses_cuda_without_a_gpu() -> None:
    runner = keras_runner("jax", fake_jax("cpu"), jax_array("cpu"))
    with pytest.raises(PlacementError, match="JAX sees only cpu devices"):
        runner.init_device()


def test_keras_on_torch_refuses_a_first_tensor_on_the_cpu() -> None:
    """E.g. KERAS_TORCH_DEVICE=cpu: torch sees the GPU, Keras does not use it."""
    cpu_tensor = SimpleNamespace(device=FakeTorchDevice("cpu"))
    runner = keras_runner("torch", fake_torch(), cpu_tensor)
    with pytest.raises(PlacementError, match="Keras's first tensor .torch backend. is on cpu"):
        runner.init_device()


def test_placement_checks_pass_where_the_work_is() -> None:
    gpu_tensor = SimpleNamespace(device="/job:localhost/replica:0/task:0/device:GPU:0")
    keras_runner("tensorflow", fake_tf(gpus=1), gpu_tensor).init_device()
    keras_runner("jax", fake_jax("gpu"), jax_array("gpu")).init_device()
    keras_runner("jax", fake_jax("cpu"), jax_array("cpu"), kind="cpu").init_device()


# --- 5: syncs -----------------------------------------------------------------------------------


def test_keras_on_jax_sync_blocks_on_the_trainers_state_not_the_purged_variables() -> None:
    state = {"trainable_variables": ["w1", "b1"], "optimizer_variables": ["iterations"]}

    def purged() -> None:
        raise AssertionError("optimizer.iterations has no value during fit on JAX")

    optimizer = SimpleNamespace(built=True, iterations=SimpleNamespace(value=purged))
    runner = keras_runner("jax", fake_jax("gpu"), jax_array("gpu"))
    runner.init_device()
    runner.model = SimpleNamespace(weights=["w1"], optimizer=optimizer, _jax_state=state)
    fetched = len(runner.keras.fetched)  # init_device fetched its first tensor
    runner.sync()
    assert runner.framework.blocked == [state]
    assert len(runner.keras.fetched) == fetched


def test_keras_on_jax_sync_outside_fit_fetches_the_iterations() -> None:
    optimizer = SimpleNamespace(built=True, iterations="iterations")
    runner = keras_runner("jax", fake_jax("cpu"), jax_array("cpu"), kind="cpu")
    runner.model = SimpleNamespace(weights=["w1"], optimizer=optimizer, _jax_state=None)
    runner.sync()
    assert runner.framework.blocked == [] and runner.keras.fetched == ["iterations"]


def test_keras_on_torch_cuda_sync_is_cuda_synchronize() -> None:
    runner = keras_runner("torch", fake_torch(), SimpleNamespace(device=FakeTorchDevice("cuda")))
    runner.init_device()
    runner.model = SimpleNamespace(weights=["w1"], optimizer=None)
    runner.sync()
    assert runner.framework.calls == ["cuda.synchronize"]


# --- 6: precision in effect -----------------------------------------------------------------------


def keras_settings(runner: KerasRunner) -> dict[str, str]:
    runner.model = SimpleNamespace(
        run_eagerly=True, jit_compile=False, layers=[], outputs=[], optimizer=None
    )
    return runner.settings()


def test_keras_on_torch_records_torch_precision_flags_and_mfu_reads_them() -> None:
    runner = keras_runner("torch", fake_torch(), SimpleNamespace(device=FakeTorchDevice("cuda")))
    settings = keras_settings(runner)
    assert settings["torch.backends.cudnn.allow_tf32"] == "True"
    assert settings["torch.backends.cuda.matmul.allow_tf32"] == "False"
    assert settings["torch.float32_matmul_precision"] == "highest"
    assert settings["cuda.device_name"] == "NVIDIA H100"
    assert precision_in_effect("cuda", settings) == "tf32"


def test_keras_on_jax_records_its_matmul_precision_and_mfu_reads_it() -> None:
    settings = keras_settings(keras_runner("jax", fake_jax("gpu"), jax_array("gpu")))
    assert settings["jax.default_matmul_precision"] == "None"
    assert settings["jax.platform"] == "gpu"
    assert precision_in_effect("cuda", settings) == "tf32"  # default precision: TF32 on GPUs


# --- 9: Keras-on-JAX device memory --------------------------------------------------------------


def test_keras_on_jax_gpu_memory_probes() -> None:
    jax = fake_jax("gpu")
    since_start, at_bounds = keras_runner("jax", jax, jax_array("gpu")).device_peaks()
    assert since_start.source == "jax_peak_bytes_in_use_since_start"
    assert at_bounds.source == "jax_bytes_in_use_at_bounds"
    jax.device.stats = {"bytes_in_use": 10, "peak_bytes_in_use": 50}
    since_start.reset()  # nothing to reset: JAX keeps one peak per process
    at_bounds.reset()
    jax.device.stats = {"bytes_in_use": 30, "peak_bytes_in_use": 80}
    assert (since_start.peak(), at_bounds.peak()) == (80, 30)  # at_bounds: max(10, 30)
    jax.device.stats = {"bytes_in_use": 40, "peak_bytes_in_use": 80}
    at_bounds.reset()
    jax.device.stats = {"bytes_in_use": 20, "peak_bytes_in_use": 80}
    assert (since_start.peak(), at_bounds.peak()) == (80, 40)  # the start was larger


def test_keras_on_jax_cpu_has_no_device_memory_probes() -> None:
    assert keras_runner("jax", fake_jax("cpu"), jax_array("cpu"), kind="cpu").device_peaks() == []


# --- 19.8: equal work in the memory pipeline -----------------------------------------------------


class HostTensor:
    """A host tensor that records its pinning and every copy of its slices to a device."""

    def __init__(self, copies: list[tuple[str, str, bool, bool]], name: str, pinned: bool = False):
        self.copies, self.name, self.pinned = copies, name, pinned

    def pin_memory(self) -> HostTensor:
        return HostTensor(self.copies, self.name, pinned=True)

    def __getitem__(self, rows: slice) -> HostTensor:
        return HostTensor(self.copies, f"{self.name}[{rows.start}:{rows.stop}]", self.pinned)

    def to(self, device: FakeTorchDevice, non_blocking: bool = False) -> str:
        self.copies.append((self.name, device.name, non_blocking, self.pinned))
        return f"{self.name}@{device.name}"


def test_torch_memory_pipeline_copies_each_batch_from_pinned_host_memory_as_keras_does() -> None:
    """Keras's `fit(x=NumPy arrays)` copies every batch host → device; torch's memory pipeline
    does the same work: host tensors, pinned on CUDA, one asynchronous copy per batch."""
    runner = torch_runner(fake_torch())
    runner.init_device()
    copies: list[tuple[str, str, bool, bool]] = []
    runner.x = host(runner.device, HostTensor(copies, "x"))
    runner.y = host(runner.device, HostTensor(copies, "y"))
    batches = list(runner._batches())
    trial, bs = runner.trial, runner.trial.batch_size
    assert len(batches) == trial.steps_per_epoch
    assert batches[1] == (f"x[{bs}:{2 * bs}]@cuda:0", f"y[{bs}:{2 * bs}]@cuda:0")
    assert len(copies) == 2 * trial.steps_per_epoch
    assert all(non_blocking and pinned for _, _, non_blocking, pinned in copies)


def test_torch_memory_pipeline_does_not_pin_for_the_cpu() -> None:
    copies: list[tuple[str, str, bool, bool]] = []
    assert not host(FakeTorchDevice("cpu"), HostTensor(copies, "x")).pinned
