"""A framework child's environment for one device: what it inherits from ours, which GPU it sees,
how many threads it may use.

Every child that imports a framework — a trial, a bare loop of `selfcheck`, a calibration child —
gets its environment from `device_env`: only the allow-listed variables of the parent (the basics
of a working process and the variables users set to steer their frameworks and devices), one
visible GPU (none for the CPU), its thread count, memory growth instead of grabbing the whole GPU,
and this project on the import path.

The one GPU is named by its UUID (`GPU-…`, or `MIG-…` for a MIG slice), which CUDA accepts in
`CUDA_VISIBLE_DEVICES` and which names one device whatever order CUDA and NVML count in; the
child sees it as cuda:0. Only a GPU NVML gave no UUID for is named by its NVML index, with
`CUDA_DEVICE_ORDER=PCI_BUS_ID` so that CUDA counts in NVML's (PCI bus) order. The parent's own
`CUDA_VISIBLE_DEVICES` has already chosen which GPUs there are (`bench.hardware.visible`); the
child's value replaces it.

ROCm: HIP reads `HIP_VISIBLE_DEVICES` or `CUDA_VISIBLE_DEVICES` (indices or UUIDs) within the
set `ROCR_VISIBLE_DEVICES` leaves (rocm.docs.amd.com, "HIP environment variables: GPU
isolation"). A GPU child gets both HIP variables set to its one GPU (the entry of the parent's
own list that `bench.hardware.devices.probed_devices` found it under) and keeps the parent's
`ROCR_VISIBLE_DEVICES`, so it counts in the same set; a CPU child gets no HIP_VISIBLE_DEVICES.
"""

from __future__ import annotations

import os
import re

from bench import PROJECT_ROOT

# What a trial inherits from the parent's environment: the basics of a working process, and the
# variables users set to steer their frameworks and devices. Everything else stays behind.
PASS_NAMES = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SHELL",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "SSL_CERT_FILE",
    "XDG_CACHE_HOME",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
}
PASS_PREFIXES = (
    "LC_",
    "CUDA_",
    "NVIDIA_",
    "CUDNN_",
    "NCCL_",
    "TF_",
    "TORCH",
    "PYTORCH_",
    "XLA_",
    "JAX_",
    "KERAS_",
    "OMP_",
    "MKL_",
    "KMP_",
    "DNNL_",
    "ONEDNN_",
    "TRITON_",
    "HIP_",  # HIP_VISIBLE_DEVICES is replaced for a GPU child, dropped for a CPU one
    "HSA_",  # e.g. HSA_OVERRIDE_GFX_VERSION, which consumer AMD GPUs need
    "ROCR_VISIBLE_DEVICES",  # ROCm's outer filter: HIP's indices count within it
)


# Names that look like credentials stay behind even under an allowed prefix: `TF_` is also
# Terraform's (`TF_VAR_db_password`, `TF_CLI_CONFIG_FILE`, `TF_TOKEN_<host>`), and a token or key
# for a service can hide under any prefix. No framework setting is named like these.
SECRET = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|APIKEY|API_KEY|PRIVATE|_KEY(_|$)"
    r"|^TF_VAR_|^TF_CLI_|^TF_WORKSPACE$",
    re.IGNORECASE,
)


def inherited_env(environ: dict[str, str]) -> dict[str, str]:
    """The part of `environ` a trial needs (see PASS_NAMES and PASS_PREFIXES), less anything
    named like a credential (SECRET)."""
    return {
        k: v
        for k, v in environ.items()
        if (k in PASS_NAMES or k.startswith(PASS_PREFIXES)) and not SECRET.search(k)
    }


def device_env(device_kind: str, cuda_visible_id: str, threads: int) -> dict[str, str]:
    """A framework child's environment for one device: only the variables it needs from ours,
    its one visible GPU (`cuda_visible_id`: a UUID, else an NVML index; none for the CPU), its
    thread count, memory growth instead of grabbing the whole GPU, and this project on the
    import path."""
    env = inherited_env(dict(os.environ))
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
            "CUDA_VISIBLE_DEVICES": "" if device_kind == "cpu" else cuda_visible_id,
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        }
    )
    if device_kind == "cpu":
        env.pop("HIP_VISIBLE_DEVICES", None)
    else:
        env["HIP_VISIBLE_DEVICES"] = cuda_visible_id  # CUDA ignores it; HIP may prefer it
    return env
