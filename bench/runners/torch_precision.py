"""A trial's precision and autotuning in torch — for the torch runner and for Keras on torch —
and the flags in effect, as settings.csv records them.

TF32 (`apply_flags`): on only in `tf32` trials (`fp32` is strict; in `bf16`/`fp16` trials the
few float32 matmuls left run in full FP32). It is set through `torch.backends.cuda.matmul.
allow_tf32` and `torch.backends.cudnn.allow_tf32`, not through torch 2.9's `fp32_precision`
properties: in torch 2.13, after `cudnn.conv.fp32_precision` or `cuda.matmul.fp32_precision` is
set, reading `cudnn.allow_tf32`, `cuda.matmul.allow_tf32` or `get_float32_matmul_precision()`
raises RuntimeError ("you have used mix of the legacy and new APIs"), and torch's own code still
reads the legacy flags (inductor's Triton convolution templates read `cudnn.allow_tf32`); after
`allow_tf32` is set, both families read consistently (the new one as "ieee"/"tf32"/"none").
torch's default is TF32 on for cuDNN convolutions and off for cuBLAS matmuls.

Autotuning: `torch.backends.cudnn.benchmark` (off as torch ships) is set for `on`/`off`.

Mixed precision (`Amp`): `torch.autocast(device_type, dtype)` around the forward pass and the
loss (ops on autocast's float32 list, such as the cross-entropy's log-softmax, run in float32,
so the loss is float32), the backward pass outside it, as the torch AMP recipe writes it; for
`fp16` a `torch.amp.GradScaler(device_type)` scales the loss and unscales the gradients
(float16's range underflows small gradients; bfloat16 has float32's range and needs none).
CPU autocast takes bfloat16 and, in torch 2.13, float16 (`torch.amp.is_autocast_available`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

AUTOCAST_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


def apply_flags(torch: Any, precision: str, autotune: str) -> None:
    """Set TF32 (allowed only for `tf32`) and, unless `default`, cuDNN's autotuning."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    if autotune != "default":
        torch.backends.cudnn.benchmark = autotune == "on"


def precision_settings(torch: Any) -> dict[str, Any]:
    """The float32 precision flags in effect (cuDNN and cuBLAS TF32, matmul precision, and
    torch ≥ 2.9's per-backend `fp32_precision` where this torch has it)."""
    backends = torch.backends
    values = {
        "torch.float32_matmul_precision": torch.get_float32_matmul_precision(),
        "torch.backends.cudnn.allow_tf32": backends.cudnn.allow_tf32,
        "torch.backends.cuda.matmul.allow_tf32": backends.cuda.matmul.allow_tf32,
        "torch.backends.cudnn.benchmark": backends.cudnn.benchmark,
    }
    conv = getattr(backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        values |= {
            "torch.backends.cudnn.conv.fp32_precision": conv.fp32_precision,
            "torch.backends.cuda.matmul.fp32_precision": backends.cuda.matmul.fp32_precision,
            "torch.backends.mkldnn.fp32_precision": backends.mkldnn.fp32_precision,
        }
    return values


class Amp:
    """Automatic mixed precision for one trial: `autocast()` around forward and loss,
    `backward_step(loss, optimizer, clip)` for the rest of the step. For `fp32`/`tf32` autocast
    is a no-op context and the step is the plain `loss.backward(); clip(); optimizer.step()`."""

    def __init__(self, torch: Any, precision: str, device_type: str) -> None:
        self.torch, self.device_type = torch, device_type
        name = AUTOCAST_DTYPES.get(precision)
        self.dtype = None if name is None else getattr(torch, name)
        if self.dtype is not None and not torch.amp.is_autocast_available(device_type):
            raise RuntimeError(
                f"precision {precision}: this torch {torch.__version__} has no autocast for "
                f"{device_type} devices"
            )
        self.scaler = torch.amp.GradScaler(device_type) if precision == "fp16" else None

    def autocast(self) -> Any:
        if self.dtype is None:
            return contextlib.nullcontext()
        return self.torch.autocast(self.device_type, dtype=self.dtype)

    def backward_step(self, loss: Any, optimizer: Any, clip: Callable[[], Any] | None) -> None:
        """Backward, `clip` (gradient clipping, on unscaled gradients), the optimizer's step."""
        if self.scaler is None:
            loss.backward()
            if clip is not None:
                clip()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        if clip is not None:
            self.scaler.unscale_(optimizer)  # clip the true gradients, as torch's AMP recipe
            clip()
        self.scaler.step(optimizer)  # skipped when the scaled gradients hold an inf or NaN
        self.scaler.update()

    def settings(self) -> dict[str, Any]:
        """Autocast as torch reports it inside the context the loop enters, and the scaler."""
        torch, device = self.torch, self.device_type
        with self.autocast():
            enabled = torch.is_autocast_enabled(device)
            dtype = torch.get_autocast_dtype(device) if enabled else "none"
        scaler = self.scaler
        return {
            "torch.autocast.enabled": enabled,
            "torch.autocast.dtype": dtype,
            "torch.amp.grad_scaler": (
                "none"
                if scaler is None
                else f"GradScaler({device}, init_scale={scaler.get_scale():g})"
            ),
        }
