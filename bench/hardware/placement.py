"""Does a framework really run on the device a child was asked for? One pure check per framework.

A trial (or calibration) that asks for a GPU must run on it, or fail saying why — never run on
the CPU and report the figures as the GPU's (DESIGN.md, principle 6). Each `*_device_error` takes
the framework module (tests hand in a fake) and returns "" when the framework can use a device of
that kind, else one sentence naming the cause and the fix; `placement_error` then compares where
a tensor the framework made really lives. `require` raises `PlacementError` with the sentence.

What each framework exposes, from its sources:

- torch: `torch.version.cuda` is None on CPU-only wheels; `torch.version.hip` is set on ROCm
  builds, whose AMD GPUs are torch's `cuda` device type (`torch.cuda.is_available()` covers
  both). `is_available()` never raises — it is False whenever `cudaGetDeviceCount` fails
  (torch/cuda/__init__.py) — so the reason is read from `torch.cuda.init()`, which raises the
  driver's own message ("Found no NVIDIA driver on your system", "No CUDA GPUs are available").
  MPS: `torch.backends.mps.is_built()` (compiled in) vs `is_available()` (macOS on Apple silicon).
- TensorFlow: `tf.test.is_built_with_cuda()` is False for tensorflow-cpu; a CUDA build whose
  libraries or driver fail to load lists no "GPU" physical device (its log says "Cannot dlopen
  some GPU libraries"). Soft device placement silently runs ops meant for `/GPU:0` on the CPU,
  so only a tensor's `.device` string proves where work ran.
- JAX: a GPU's `Device.platform` is "gpu" for CUDA and ROCm alike (jax/_src/xla_bridge.py maps
  the platforms "cuda" and "rocm" to the alias "gpu"); a jaxlib without a GPU plugin
  (jax-cuda12-plugin, jax-cuda13-plugin, jax-rocm*) has only "cpu" devices. A plugin that is
  installed but fails (often a driver older than its CUDA needs) fails in one of two places
  (jax/_src/xla_bridge.py, jax_plugins/cuda/__init__.py): its `initialize()` raises — JAX logs
  "Jax plugin configuration error" with the exception and goes on with the CPU — or the backend
  it registered (`register_plugin`, `fail_quietly=False`) fails to start, and `jax.devices()`
  raises "Unable to initialize backend 'cuda': …". A backend registered to fail quietly keeps
  its error in `xla_bridge._backend_errors` (private; read where present).
"""

from __future__ import annotations

import logging
from typing import Any

from bench.hardware.install_advice import (
    CUDA_DRIVER_MIN,
    GPU_TF,
    GPU_TORCH,
    TORCH_CU126,
    plugin_driver_gap,
)
from bench.hardware.venv import jax_gpu_plugins as jax_gpu_plugins  # the runners import it here

#: `Device.platform` values of a JAX GPU (current JAX says "gpu"; the others are its aliases).
JAX_GPU_PLATFORMS = ("gpu", "cuda", "rocm")


class PlacementError(RuntimeError):
    """The framework does not, or cannot, run on the device the trial names."""


# How to get a GPU build of each library: the one wording of `bench doctor` and a trial's error
# (`bench.hardware.install_advice` says which torch fits the machine).
GPU_BUILD = {
    "torch": (
        f"install a CUDA build in a venv of its own: {GPU_TORCH} (torch 2.13.0 from PyPI on Linux "
        f"x86_64 is a CUDA 13 build: driver ≥ {CUDA_DRIVER_MIN[13]}, compute capability ≥ 7.5; "
        f"for an older driver or GPU run {TORCH_CU126} first; the install line of `bench "
        "doctor` says which fits)"
    ),
    "tensorflow": f"install tensorflow[and-cuda] in a venv of its own: {GPU_TF}",
    "jax": (
        f"install a CUDA build: pip install 'jax[cuda13]' (driver ≥ {CUDA_DRIVER_MIN[13]}), or "
        f"'jax[cuda12]' with a CUDA 12 stack (driver ≥ {CUDA_DRIVER_MIN[12]})"
    ),
}


def require(error: str) -> None:
    """Raise `PlacementError(error)` unless `error` is empty."""
    if error:
        raise PlacementError(error)


def placement_error(found: str, kind: str, asked: str, what: str) -> str:
    """ "" when `found` (the device kind a tensor lives on) is `kind`, else why not."""
    return "" if found == kind else f"asked for {asked}, but {what} is on {found}"


def _only_torch(kind: str, asked: str, framework: str) -> str:
    return (
        f"asked for {asked}, but {framework} has no {kind} device in bench; "
        "run it with torch or Keras on torch"
    )


def torch_device_error(torch: Any, kind: str, asked: str) -> str:
    """Why this torch cannot run on a `kind` device ("" if it can)."""
    if kind == "cuda":
        return _torch_cuda_error(torch, asked)
    if kind == "mps":
        return _torch_mps_error(torch, asked)
    return ""


def _torch_cuda_error(torch: Any, asked: str) -> str:
    cuda, hip = torch.version.cuda, getattr(torch.version, "hip", None)
    if cuda is None and hip is None:
        return (
            f"asked for {asked}, but this torch is a CPU-only build (torch.version.cuda is "
            f"None); {GPU_BUILD['torch']}"
        )
    if torch.cuda.is_available():
        return ""
    build = f"torch {torch.__version__} (built for {f'ROCm {hip}' if hip else f'CUDA {cuda}'})"
    try:
        torch.cuda.init()
        reason = "torch.cuda.is_available() is False"
    except Exception as exc:  # the driver's own words
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    tool = "rocm-smi" if hip else "nvidia-smi"
    if "driver" in reason.lower():
        return f"asked for {asked}, but {build} cannot use the GPU driver ({reason}); check {tool}"
    return (
        f"asked for {asked}, but {build} sees no GPU ({reason}); check {tool} and "
        "CUDA_VISIBLE_DEVICES"
    )


def _torch_mps_error(torch: Any, asked: str) -> str:
    mps = torch.backends.mps
    if not mps.is_built():
        return (
            f"asked for {asked}, but this torch was built without MPS "
            "(torch.backends.mps.is_built() is False); install a macOS arm64 wheel of torch"
        )
    if not mps.is_available():
        return (
            f"asked for {asked}, but torch.backends.mps.is_available() is False: MPS needs "
            "Apple silicon and macOS 12.3 or newer"
        )
    return ""


def tf_device_error(tf: Any, kind: str, asked: str) -> str:
    """Why this TensorFlow cannot run on a `kind` device ("" if it can)."""
    if kind == "cpu":
        return ""
    if kind != "cuda":
        return _only_torch(kind, asked, "TensorFlow")
    if tf.config.list_physical_devices("GPU"):
        return ""
    rocm = getattr(tf.test, "is_built_with_rocm", lambda: False)()
    if not (tf.test.is_built_with_cuda() or rocm):
        return (
            f"asked for {asked}, but TensorFlow sees no GPU: this TensorFlow {tf.__version__} "
            f"is a CPU-only build (tensorflow-cpu); {GPU_BUILD['tensorflow']}"
        )
    info = tf.sysconfig.get_build_info()
    build = f"ROCm {info.get('rocm_version', '?')}" if rocm else f"CUDA {info.get('cuda_version')}"
    return (
        f"asked for {asked}, but TensorFlow {tf.__version__} (built for {build}) sees no GPU: "
        "its GPU libraries or the driver did not load (the log says which); install "
        "tensorflow[and-cuda] and check nvidia-smi"
    )


def _brief(text: str) -> str:
    """An error on one line, at most 300 characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 300 else flat[:299] + "…"


def jax_backend_error(jax: Any) -> str:
    """The error JAX kept for a GPU backend that failed quietly ("" if none)."""
    bridge = getattr(getattr(jax, "_src", None), "xla_bridge", None)
    errors = getattr(bridge, "_backend_errors", None)
    if not isinstance(errors, dict):
        return ""
    return _brief(next((str(errors[p]) for p in ("cuda", "rocm") if errors.get(p)), ""))


class _Noted(logging.Handler):
    """Keeps what JAX's backend set-up logs at WARNING and above (an exception's own words)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.said: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.said.append(f"{type(error).__name__}: {error}" if error else record.getMessage())


def jax_devices_and_error(jax: Any) -> tuple[list[Any] | None, str]:
    """`jax.devices()` (None when it raised) and the error JAX met starting a GPU backend: the
    one it raised; else the first one its set-up logged (a plugin whose `initialize()` raised
    is logged and skipped); else the one it kept; "" if none."""
    noted = _Noted()
    logger = logging.getLogger("jax._src.xla_bridge")
    logger.addHandler(noted)
    try:
        devices = list(jax.devices())
    except RuntimeError as exc:  # a plugin's backend failed to start (JAX_PLATFORMS, or a plugin)
        return None, _brief(str(exc))
    finally:
        logger.removeHandler(noted)
    logged = next((_brief(t) for t in noted.said if t.strip()), "")
    return devices, logged or jax_backend_error(jax)


def jax_no_gpu_reason(plugins: list[str], error: str, driver_cuda: str | None) -> str:
    """Why JAX has no GPU device: no GPU plugin installed (the install line), or a plugin that
    failed to start (the driver it needs where `driver_cuda`, the driver's CUDA version, is
    known; the error JAX kept). Shared by `bench doctor` and a trial's placement check."""
    if not plugins:
        return f"this jaxlib has no GPU plugin; {GPU_BUILD['jax']}"
    names = ", ".join(plugins)
    said = f"; JAX said: {error}" if error else " (the log says why)"
    if gap := plugin_driver_gap(plugins, driver_cuda):
        return (
            f"{names} is installed but failed to load: {gap}; update the NVIDIA driver, or "
            f"install 'jax[cuda12]' instead{said}"
        )
    tool = "rocm-smi" if all(p.startswith("jax-rocm") for p in plugins) else "nvidia-smi"
    return (
        f"{names} is installed but failed to load (often a driver older than the plugin needs; "
        f"check {tool} and CUDA_VISIBLE_DEVICES){said}"
    )


def jax_device_error(jax: Any, kind: str, asked: str, plugins: list[str]) -> str:
    """Why this JAX cannot run on a `kind` device ("" if it can); `plugins` from
    `jax_gpu_plugins()`."""
    if kind == "cpu":
        return ""
    if kind != "cuda":
        return _only_torch(kind, asked, "JAX")
    devices, error = jax_devices_and_error(jax)
    if devices is None:  # e.g. JAX_PLATFORMS=cuda, or a plugin whose backend failed to start
        return f"asked for {asked}, but JAX could not start its GPU backend ({error})"
    platforms = sorted({d.platform for d in devices})
    if any(p in JAX_GPU_PLATFORMS for p in platforms):
        return ""
    reason = jax_no_gpu_reason(plugins, error, None)
    return f"asked for {asked}, but JAX sees only {', '.join(platforms)} devices: {reason}"


def tf_tensor_kind(tensor: Any) -> str:
    """The device kind a TensorFlow tensor lives on, from its `.device` string."""
    name = str(tensor.device)
    if "GPU" in name.upper():
        return "cuda"
    return "cpu" if "CPU" in name.upper() else name or "unknown"


def jax_array_kind(array: Any) -> str:
    """The device kind a JAX array lives on ("cuda" for a "gpu" platform)."""
    platforms = sorted({d.platform for d in array.devices()})
    if any(p in JAX_GPU_PLATFORMS for p in platforms):
        return "cuda"
    return ",".join(platforms)


def torch_tensor_kind(tensor: Any) -> str:
    """The device kind a torch tensor lives on (ROCm GPUs are `cuda` too)."""
    return str(tensor.device.type)
