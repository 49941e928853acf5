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
  (jax-cuda12-plugin, jax-cuda13-plugin, jax-rocm*) has only "cpu" devices.
"""

from __future__ import annotations

from typing import Any

#: `Device.platform` values of a JAX GPU (current JAX says "gpu"; the others are its aliases).
JAX_GPU_PLATFORMS = ("gpu", "cuda", "rocm")


class PlacementError(RuntimeError):
    """The framework does not, or cannot, run on the device the trial names."""


# How to get a GPU build of each library: the one wording of `bench doctor` and a trial's error.
GPU_BUILD = {
    "torch": (
        "install a CUDA build in a fresh venv: pip install -e '.[gpu]' (torch 2.13.0 from PyPI "
        "on Linux x86_64 is a CUDA 12 build)"
    ),
    "tensorflow": "install tensorflow[and-cuda] in a fresh venv: pip install -e '.[gpu]'",
    "jax": "install a CUDA build: pip install 'jax[cuda12]' (or jax[cuda13])",
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


def jax_gpu_plugins() -> list[str]:
    """The installed JAX GPU plugin distributions (jax-cuda12-plugin, jax-rocm7-pjrt, ...)."""
    from importlib import metadata  # only here: importing it costs ~30 ms

    names = {(d.metadata["Name"] or "").lower().replace("_", "-") for d in metadata.distributions()}
    return sorted(n for n in names if n.startswith(("jax-cuda", "jax-rocm")))


def jax_device_error(jax: Any, kind: str, asked: str, plugins: list[str]) -> str:
    """Why this JAX cannot run on a `kind` device ("" if it can); `plugins` from
    `jax_gpu_plugins()`."""
    if kind == "cpu":
        return ""
    if kind != "cuda":
        return _only_torch(kind, asked, "JAX")
    try:
        platforms = sorted({d.platform for d in jax.devices()})
    except RuntimeError as exc:  # e.g. JAX_PLATFORMS=cuda and the plugin failed
        reason = (str(exc).strip().splitlines() or ["RuntimeError"])[0]
        return f"asked for {asked}, but JAX could not start its GPU backend ({reason})"
    if any(p in JAX_GPU_PLATFORMS for p in platforms):
        return ""
    seen = ", ".join(platforms)
    if not plugins:
        return (
            f"asked for {asked}, but JAX sees only {seen} devices: this jaxlib has no GPU "
            f"plugin; {GPU_BUILD['jax']}"
        )
    return (
        f"asked for {asked}, but JAX sees only {seen} devices although {', '.join(plugins)} "
        "is installed: the plugin could not reach a GPU (the log says why); check nvidia-smi "
        "and CUDA_VISIBLE_DEVICES"
    )


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
