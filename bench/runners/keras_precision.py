"""A trial's precision and autotuning under Keras 3, per backend, and the settings in effect.

Mixed precision: `bf16`/`fp16` set Keras's global dtype policy to `mixed_bfloat16` /
`mixed_float16` before the model is built (`keras.config.set_dtype_policy`, which
`keras.mixed_precision.set_global_policy` aliases): each layer keeps float32 variables and
computes in the low precision. As the Keras mixed-precision guide advises, the model's output is
cast back to float32 (`float32_output`: a linear `Activation` with dtype float32 on the logits;
no weights, so parameter counts are unchanged); the loss casts its inputs to its own float32
dtype policy anyway. For `fp16` the optimizer is wrapped in `keras.optimizers.
LossScaleOptimizer` (dynamic loss scaling; `Model.compile` would wrap it itself under a
`mixed_float16` policy — doing it here makes it explicit and recorded).

TF32 (on only for `tf32`, as in the torch runner), per backend: TensorFlow
`tf.config.experimental.enable_tensor_float_32_execution` (TensorFlow's default is on); JAX
`jax_default_matmul_precision` = "tensorfloat32" or "float32" (it governs only 32-bit inputs,
so bfloat16/float16 dots are unaffected; JAX's default, None, runs TF32 on GPUs that have it);
torch the flags of `bench.runners.torch_precision.apply_flags`, cuDNN autotuning included.
TensorFlow's and XLA's autotuning are environment variables set by the parent
(`bench.hardware.precision.autotune_env`); the values the child saw are recorded.
"""

from __future__ import annotations

import os
from typing import Any

POLICIES = {"fp32": "float32", "tf32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
AUTOTUNE_ENV = ("TF_CUDNN_USE_AUTOTUNE", "XLA_FLAGS")


def apply(keras: Any, backend: str, module: Any, precision: str, autotune: str) -> None:
    """Set the dtype policy and the backend's TF32 (and torch's autotune) flags; call before
    the model is built."""
    keras.config.set_dtype_policy(POLICIES[precision])
    tf32 = precision == "tf32"
    if backend == "tensorflow":
        module.config.experimental.enable_tensor_float_32_execution(tf32)
    elif backend == "jax":
        module.config.update("jax_default_matmul_precision", "tensorfloat32" if tf32 else "float32")
    else:
        from bench.runners.torch_precision import apply_flags

        apply_flags(module, precision, autotune)


def float32_output(keras: Any, model: Any) -> Any:
    """Under a mixed policy, `model` with its logits cast to float32; else `model` itself (and
    a subclassed model, which has no symbolic inputs to rewire: its own output dtype stands)."""
    if not keras.config.dtype_policy().name.startswith("mixed_") or not _functional(model):
        return model
    cast = keras.layers.Activation("linear", dtype="float32", name="logits_float32")
    return keras.Model(model.inputs, cast(model.outputs[0]), name=model.name)


def loss_scaled(keras: Any, optimizer: Any, precision: str) -> Any:
    """The optimizer, wrapped for dynamic loss scaling in `fp16` trials."""
    if precision != "fp16":
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def settings(keras: Any, model: Any) -> dict[str, Any]:
    """The dtype policy, what a weighted layer computes and stores in, the model's output
    dtype, the optimizer (LossScaleOptimizer for fp16), and the autotune variables seen."""
    layer = next((lay for lay in model.layers if lay.weights), None)
    optimizer = getattr(model, "optimizer", None)
    return {
        "keras.dtype_policy": keras.config.dtype_policy().name,
        "keras.compute_dtype": getattr(layer, "compute_dtype", ""),
        "keras.variable_dtype": getattr(layer, "variable_dtype", ""),
        "keras.output_dtype": model.outputs[0].dtype if _functional(model) else "",
        "keras.optimizer": type(optimizer).__name__ if optimizer is not None else "",
        **{f"env.{name}": os.environ.get(name, "unset") for name in AUTOTUNE_ENV},
    }


def _functional(model: Any) -> bool:
    """Whether `model` has symbolic inputs and outputs (Functional and Sequential models; a
    subclassed model, such as a user's native one, has neither)."""
    return bool(getattr(model, "outputs", None))
