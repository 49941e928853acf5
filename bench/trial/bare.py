"""Bare, hand-written training loops for `bench selfcheck`: no harness clock, no probes.

`python -m bench.trial.bare TRIAL.json OUT.json` trains the trial's model on the same data (the
runners' `load_data`, the memory pipeline) with the same threads, batch size and optimizer
recipe as the harness would (built by the runners' own `optim_*` modules), timing each epoch
with nothing but `time.perf_counter()` — the way a user times a loop by hand — and writes the
epoch times to OUT.json. Comparing these with the harness's own epoch times shows what the
harness costs (target: steady-epoch ratio ≤ 1.02). `selfcheck` runs synthetic data, which is
never evaluated, so there is no validation here.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.contract.trial import Trial
from bench.runners.base import load_data, model_spec


def torch_loop(trial: Trial) -> list[float]:
    import torch

    from bench.runners.optim_torch import TorchRecipe
    from bench.runners.torch import host, nchw
    from models import torch_build

    torch.set_num_threads(trial.threads)
    torch.set_num_interop_threads(trial.threads)
    torch.manual_seed(trial.seed)
    device = torch.device("cuda:0" if trial.device_kind == "cuda" else "cpu")
    data = load_data(trial)
    x = host(device, nchw(torch, data.x_train))
    y = host(device, torch.from_numpy(data.y_train))
    model = torch_build.build(model_spec(trial), seed=trial.seed).to(device)
    recipe = TorchRecipe(torch, list(model.parameters()), trial.recipe, trial.total_steps)
    opt = recipe.optimizer
    loss_fn = torch.nn.CrossEntropyLoss()
    bs, times = trial.batch_size, []
    model.train()
    for _ in range(trial.epochs):
        t = time.perf_counter()
        for i in range(trial.steps_per_epoch):
            opt.zero_grad(set_to_none=True)
            xb = x[i * bs : (i + 1) * bs].to(device, non_blocking=True)
            yb = y[i * bs : (i + 1) * bs].to(device, non_blocking=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            if recipe.clip is not None:
                recipe.clip()
            opt.step()
            recipe.scheduled()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        loss.item()
    return times


def keras_loop(trial: Trial) -> list[float]:
    import keras
    import tensorflow as tf

    from bench.runners.optim_keras import make_optimizer
    from models import keras_build

    tf.config.threading.set_intra_op_parallelism_threads(trial.threads)
    tf.config.threading.set_inter_op_parallelism_threads(trial.threads)
    keras.utils.set_random_seed(trial.seed)
    data = load_data(trial)
    x, y = data.x_train, data.y_train
    model = keras_build.build(model_spec(trial), seed=trial.seed)
    opt = make_optimizer(keras, trial.recipe, trial.total_steps)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss, jit_compile=False)
    times: list[float] = []

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.t)

    model.fit(
        x,
        y,
        batch_size=trial.batch_size,
        epochs=trial.epochs,
        shuffle=False,
        verbose=0,
        callbacks=[EpochTimes()],
    )
    return times


def numpy_loop(trial: Trial) -> list[float]:
    from threadpoolctl import threadpool_limits

    from bench.runners.numpy_model import Network
    from bench.runners.numpy_optim import NumpyRecipe

    limits = threadpool_limits(limits=trial.threads)  # noqa: F841 (held for the whole loop)
    data = load_data(trial)
    x, y = data.x_train, data.y_train
    net = Network(model_spec(trial), seed=trial.seed)
    opt = NumpyRecipe(net.params, trial.recipe, trial.total_steps)
    bs, times = trial.batch_size, []
    for _ in range(trial.epochs):
        t = time.perf_counter()
        for i in range(trial.steps_per_epoch):
            net.train_step(x[i * bs : (i + 1) * bs], y[i * bs : (i + 1) * bs])
            opt.step(net.grads)
        times.append(time.perf_counter() - t)
    return times


LOOPS = {"torch": torch_loop, "keras": keras_loop, "numpy": numpy_loop}

if __name__ == "__main__":
    trial = Trial.from_json(json.loads(Path(sys.argv[1]).read_text()))
    epoch_s = LOOPS[trial.framework](trial)
    Path(sys.argv[2]).write_text(json.dumps({"epoch_s": epoch_s}))
