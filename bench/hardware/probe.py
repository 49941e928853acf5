"""Framework probes, run in a child so that the parent never imports a framework.

`python -m bench.hardware.probe FRAMEWORK BACKEND OUT.json` imports one framework — `torch`,
`keras` on a backend (`tensorflow`, `jax`, `torch`) — and writes what it sees as JSON: its
version, what it was built with (CUDA, ROCm/HIP, cuDNN), the GPUs it can use and whether Apple's
MPS is there. `bench doctor` probes every framework this way; device discovery probes torch when
NVML finds no NVIDIA GPU but the machine may hold an AMD (ROCm) GPU or be an Apple Mac.

The facts come from small functions that take the framework module, so that tests hand them fake
modules (a CPU-only build, a ROCm build). What each reads, from the frameworks' own sources:

- torch: `torch.version.cuda` (None on CPU and ROCm builds), `torch.version.hip` (set on ROCm
  builds, whose AMD GPUs appear through the `torch.cuda` API), `torch.backends.cudnn.version()`
  (None without cuDNN), `torch.cuda.is_available()` / `device_count()` /
  `get_device_properties(i)` (`.name`, `.total_memory`), `torch.backends.mps.is_available()`.
- TensorFlow: `tf.test.is_built_with_cuda()`, `tf.test.is_built_with_rocm()`,
  `tf.sysconfig.get_build_info()` (`cuda_version`, `cudnn_version`; absent keys on CPU builds),
  `tf.config.list_physical_devices("GPU")` (tensorflow-metal's Apple GPU is listed there too).
- JAX: `jax.devices()` — each device's `platform` is "cpu", "gpu" (CUDA and ROCm) or "METAL";
  `device_kind` names the model; with no GPU device, the GPU plugins installed and the error a
  plugin failed with (`bench.hardware.placement`: one definition for doctor and trials).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from bench import PROJECT_ROOT
from bench.hardware.device_env import inherited_env

GPU_PLATFORMS = ("gpu", "cuda", "rocm", "metal")


def _call(fn: Any, default: Any = None) -> Any:
    """`fn()`, or `default` where the build lacks it or it raises (a probe never crashes)."""
    try:
        return fn()
    except Exception:
        return default


def torch_facts(torch: Any) -> dict[str, Any]:
    """What a torch module was built with and which GPUs it can use."""
    version = getattr(torch, "version", None)
    cuda, hip = getattr(version, "cuda", None), getattr(version, "hip", None)
    gpus = []
    if _call(torch.cuda.is_available, False):
        for i in range(_call(torch.cuda.device_count, 0)):
            props = _call(lambda i=i: torch.cuda.get_device_properties(i))
            gpus.append(
                {
                    "index": i,
                    "name": str(getattr(props, "name", f"GPU {i}")),
                    "memory_bytes": int(getattr(props, "total_memory", 0) or 0),
                }
            )
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    cudnn = getattr(getattr(torch, "backends", None), "cudnn", None)
    return {
        "version": str(torch.__version__),
        "cuda": cuda,
        "hip": hip,
        "cudnn": _call(cudnn.version) if cudnn is not None and (cuda or hip) else None,
        "gpus": gpus,
        "mps": bool(_call(mps.is_available, False)) if mps is not None else False,
    }


def tensorflow_facts(tf: Any) -> dict[str, Any]:
    """What a TensorFlow module was built with and which GPUs it can use."""
    info = _call(tf.sysconfig.get_build_info, {}) or {}
    devices = _call(lambda: tf.config.list_physical_devices("GPU"), []) or []
    return {
        "version": str(tf.__version__),
        "cuda": info.get("cuda_version") if _call(tf.test.is_built_with_cuda, False) else None,
        "hip": info.get("rocm_version") if _call(tf.test.is_built_with_rocm, False) else None,
        "cudnn": info.get("cudnn_version"),
        "gpus": [
            {"index": i, "name": str(d.name), "memory_bytes": 0} for i, d in enumerate(devices)
        ],
        "mps": False,
    }


def jax_facts(jax: Any, plugins: list[str] | None = None) -> dict[str, Any]:
    """The devices JAX's default backend gives (GPU builds: platform "gpu"), the GPU `plugins`
    installed (read from this venv where None) and the error a GPU plugin failed with."""
    from bench.hardware.placement import jax_devices_and_error, jax_gpu_plugins

    found, error = _call(lambda: jax_devices_and_error(jax), ([], ""))
    devices = found or []
    gpus = [
        {"index": i, "name": str(getattr(d, "device_kind", d)), "memory_bytes": 0}
        for i, d in enumerate(devices)
        if str(getattr(d, "platform", "")).lower() in GPU_PLATFORMS
    ]
    platforms = sorted({str(getattr(d, "platform", "")).lower() for d in devices})
    return {
        "version": str(jax.__version__),
        "cuda": None,
        "hip": None,
        "cudnn": None,
        "gpus": gpus,
        "mps": "metal" in platforms,
        "platforms": platforms,
        "plugins": jax_gpu_plugins() if plugins is None else plugins,
        "backend_error": error,
    }


def probe(framework: str, backend: str) -> dict[str, Any]:
    """Import the framework (on `backend` for Keras) and describe it."""
    import importlib

    if framework == "torch":
        return torch_facts(importlib.import_module("torch"))
    module = importlib.import_module(backend)
    facts = {"tensorflow": tensorflow_facts, "jax": jax_facts, "torch": torch_facts}[backend](
        module
    )
    keras = importlib.import_module("keras")
    return {**facts, "backend_version": facts["version"], "version": str(keras.__version__)}


def may_hold_other_gpus(dev: Path = Path("/dev"), system: str | None = None) -> bool:
    """Whether a GPU NVML cannot see could be here: ROCm's /dev/kfd, or a Mac (MPS). Probing
    imports torch in a child (about a second), so it is done only then."""
    import platform

    return (dev / "kfd").exists() or (system or platform.system()) == "Darwin"


#: What caps a child's thread pools (OpenMP, MKL, OpenBLAS, TensorFlow's two pools).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def run_probe(
    framework: str, backend: str, timeout_s: float = 120.0, threads: int | None = None
) -> dict[str, Any]:
    """Probe `framework` (on `backend`) in a fresh child that sees the GPUs the user made
    visible, its thread pools capped at `threads` where given (probes that share the cores);
    the facts, or `{"error": ...}` when the child failed or timed out."""
    env = inherited_env(dict(os.environ))
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
            "KERAS_BACKEND": backend,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        }
    )
    if threads is not None:
        env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        out = Path(tmp) / "probe.json"
        cmd = [sys.executable, "-m", "bench.hardware.probe", framework, backend, str(out)]
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the probe did not finish within {timeout_s:g} s"}
        if not out.exists():
            tail = " ".join((done.stdout + done.stderr).split())[-300:]
            return {"error": f"the probe exited with code {done.returncode}: {tail}"}
        return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    framework, backend, out = argv
    try:
        result = {"framework": framework, "backend": backend, **probe(framework, backend)}
        result["error"] = ""
    except BaseException as exc:  # reported to the parent, which decides what it means
        traceback.print_exc()
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        result = {"framework": framework, "backend": backend, "error": message}
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
