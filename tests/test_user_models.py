"""Users' own models without a framework: spec files, TOML layer lists and native declarations
are loaded, listed, planned and refused (exit 2, naming the file and the problem) by the parent,
which never imports a framework."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from bench.contract.trial import Trial
from bench.core import config
from bench.core.plan import plan
from bench.errors import UsageError
from bench.hardware.devices import Device
from models import flops, spec_file, user, zoo

EXAMPLES = REPO / "examples"
CPU = Device("cpu", "cpu", "Fake CPU", None, 16 * 2**30, "4 cores")
TINY = "[train]\nsamples = 64\nepochs = 2\n[sweep]\ndevices = ['cpu']\nbatch_sizes = [32]\n"
TINY += "repeats = 1\n"


@pytest.fixture(autouse=True)
def no_user_models():
    """Every test starts and ends with the zoo alone (the registry is process-wide)."""
    zoo.clear_user()
    yield
    zoo.clear_user()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


GOOD = """
    from models.spec import Conv, Dense, Flatten, MaxPool, ModelSpec, ReLU
    from models.zoo import register


    @register("my_cnn", input_shape=(28, 28, 1), classes=10, description="conv8-pool-fc")
    def my_cnn(input_shape, classes):
        layers = (Conv(8, 3), ReLU(), MaxPool(2), Flatten(), Dense(classes))
        return ModelSpec("my_cnn", input_shape, classes, layers)
"""

BROKEN = {
    "syntax": ("from models.spec import ModelSpec\ndef f(:\n", "line 2: syntax error"),
    "torch": ("import os\n\nimport torch\n", "line 3: imports torch, a framework"),
    "hidden": (
        "try:\n    import tensorflow as tf\nexcept Exception:\n    tf = None\n",
        "line 2: imports tensorflow, a framework",
    ),
    "indirect": (
        "import importlib\n\nimportlib.import_module('jax.numpy')\n",
        "line 3: imports jax",
    ),
    "unknown_import": ("from models.spec import Conv3D, Dense\n", "line 1: unknown layer 'Conv3D'"),
    "unknown_layer": (
        """
        from dataclasses import dataclass
        from models.spec import Dense, ModelSpec
        from models.zoo import register

        @dataclass(frozen=True)
        class Conv3D:
            filters: int

        @register("cube", input_shape=(28, 28, 1), classes=10)
        def cube(input_shape, classes):
            return ModelSpec("cube", input_shape, classes, (Conv3D(4), Dense(classes)))
        """,
        "model 'cube': unknown layer 'Conv3D'; the layers of models.spec are: Conv,",
    ),
    "nothing": ("from models.spec import ModelSpec\nX = 1\n", "registers no model"),
    "taken": (GOOD.replace('"my_cnn"', '"seed_cnn"'), "'seed_cnn' is already defined"),
    "raises": (
        """
        from models.spec import ModelSpec
        from models.zoo import register

        @register("oops", input_shape=(28, 28, 1), classes=10)
        def oops(input_shape, classes):
            return 1 / 0
        """,
        "line 6: model 'oops': ZeroDivisionError",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_spec_file_is_refused_naming_file_line_and_problem(tmp_path, case):
    text, expected = BROKEN[case]
    path = write(tmp_path, f"{case}.py", text)
    with pytest.raises(spec_file.SpecFileError) as info:
        user.install(user.normalize({"files": [str(path)]}))
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message, message
    assert zoo.user_names() == []


def test_the_guard_refuses_a_framework_that_is_already_imported(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    path = write(tmp_path, "uses_torch.py", "from models.spec import Dense\nimport torch.nn\n")
    with pytest.raises(spec_file.SpecFileError, match=r"line 2: imports torch\.nn, a framework"):
        spec_file.load(path)


def test_the_guard_refuses_import_module_of_a_framework_already_imported(tmp_path, monkeypatch):
    """importlib.import_module returns a cached module without asking any finder."""
    monkeypatch.setitem(sys.modules, "jax", types.ModuleType("jax"))
    text = "import importlib\n\nimportlib.import_module('jax')\n"
    path = write(tmp_path, "cached.py", text)
    with pytest.raises(spec_file.SpecFileError, match=r"line 3: imports jax, a framework"):
        spec_file.load(path)


@pytest.mark.parametrize("case", ["syntax", "torch", "unknown_import"])
def test_cli_broken_spec_file_exits_2_before_any_trial(tmp_path, case):
    text, expected = BROKEN[case]
    path = write(tmp_path, f"{case}.py", text)
    out = tmp_path / "results"
    proc = run_cli(
        "run", "--model-file", str(path), "--frameworks", "fake", "--models", "seed_cnn",
        "--devices", "cpu", "--out", str(out), "--no-report",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(path) in proc.stderr and expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())  # no run folder: no trial started


def test_spec_file_models_are_listed_and_described_without_a_framework(tmp_path):
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bench.core import config\n"
        "from bench.cli.models import listing, describe\n"
        "config.load(Path('examples/bench.toml'))\n"
        "print(listing()); print(describe('tiny_vgg')); print(describe('native_cnn'))\n"
        "loaded = [m for m in ('torch', 'keras', 'tensorflow', 'jax') if m in sys.modules]\n"
        "print('FRAMEWORKS', loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "FRAMEWORKS []" in proc.stdout
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line[:1].isalpha()}
    assert "16,698" in rows["tiny_vgg"] and "from examples/my_models.py" in rows["tiny_vgg"]
    assert "50,890" in rows["small_mlp"] and "[models.small_mlp]" in rows["small_mlp"]
    assert "native" in rows["native_cnn"] and "native_models.py:torch_cnn" in rows["native_cnn"]
    assert "defined in: examples/my_models.py" in proc.stdout
    assert "no layer table" in proc.stdout


def test_models_command_takes_model_files_repeated_or_comma_separated(tmp_path):
    first = write(tmp_path, "first.py", GOOD)
    second = write(tmp_path, "second.py", GOOD.replace("my_cnn", "my_other_cnn"))
    for args in (
        ["--model-file", str(first), "--model-file", str(second)],
        ["--model-file", f"{first},{second}"],
    ):
        proc = run_cli("models", *args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        names = [line.split()[0] for line in proc.stdout.splitlines()[2:]]
        assert {"my_cnn", "my_other_cnn", "seed_cnn"} <= set(names)
    proc = run_cli("models", "--model-file", str(tmp_path / "absent.py"), cwd=tmp_path)
    assert proc.returncode == 2 and "absent.py" in proc.stderr and "not found" in proc.stderr


def test_a_toml_layer_list_is_a_spec_model(tmp_path):
    table = """
        [models.stack]
        input_shape = [8, 8, 3]
        classes = 4
        layers = [
          { layer = "Conv", filters = 4, kernel = 3, padding = "valid" },
          "relu",
          { layer = "Residual", body = [{ layer = "Conv", filters = 4, kernel = 3 }] },
          "GlobalAvgPool",
          { layer = "Dense", units = "classes" },
        ]
    """
    toml = write(tmp_path, "bench.toml", TINY + textwrap.dedent(table))
    cfg = config.load(toml)
    spec = zoo.get("stack")
    assert spec.input_shape == (8, 8, 3) and flops.output_shape(spec) == (4,)
    assert flops.param_count(spec) == (27 * 4 + 4) + (36 * 4 + 4) + (4 * 4 + 4)
    assert zoo.get("stack", (16, 16, 1), 7).layers[-1].units == 7  # the data's classes
    assert cfg.models["stack"]["layers"][1] == "relu"


LAYER_ERRORS = [
    ('["Flatten", { layer = "Conv3D", filters = 2 }]', "layers[1]: unknown layer 'Conv3D'"),
    ('["Flatten", { layer = "Dense", unit = 3 }]', "layers[1] (Dense): unknown field 'unit'"),
    ('["Flatten", { layer = "Dense", units = 0 }]', "units = 0: expected an integer ≥ 1"),
    ('["Flatten", { layer = "Dense", units = 3 }]', "gives shape (3,), not (10,) logits"),
    ('[{ layer = "Dense", units = "classes" }]', "Dense needs a flat (N,) input"),
    ("[]", "expected a non-empty list of layers"),
]


@pytest.mark.parametrize(("layers", "expected"), LAYER_ERRORS)
def test_a_bad_layer_list_names_the_table_item_and_problem(tmp_path, layers, expected):
    toml = write(tmp_path, "bench.toml", f"{TINY}[models.bad]\nlayers = {layers}\n")
    with pytest.raises(UsageError) as info:
        config.load(toml)
    assert str(info.value).startswith(f"{toml}: [models.bad]") and expected in str(info.value)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('torch = "nomodule"', "not an import string"),
        ('keras = "missing.py:f"', "missing.py not found"),
        ('torch = "a.b:f"\nlayers = ["Flatten"]', "not both"),
        ('description = "nothing"', "not neither"),
        ('torch = "a.b:f"\nwidth = 3', "unknown key 'width'"),
        ('torch = "a.b:f"\ninput_shape = [28, 28]', "expected [height, width, channels]"),
        ('torch = "a.b:f"\nclasses = 0', "classes = 0: expected an integer ≥ 1"),
    ],
)
def test_a_bad_model_table_is_a_usage_error(tmp_path, table, expected):
    toml = write(tmp_path, "bench.toml", f"{TINY}[models.mine]\n{table}\n")
    with pytest.raises(UsageError, match=r"\[models\.mine\]") as info:
        config.load(toml)
    assert expected in str(info.value)


def test_native_models_are_planned_without_importing_their_factories(tmp_path):
    factories = write(tmp_path, "factories.py", "raise SystemExit('imported in the parent')\n")
    sweep = "[sweep]\nframeworks = ['torch', 'keras', 'numpy']\nmodels = ['mine', 'seed_cnn']\n"
    tables = f'[models.mine]\ntorch = "{factories}:make"\n'
    toml = write(tmp_path, "bench.toml", TINY.replace("[sweep]\n", sweep) + tables)
    trials = plan(config.load(toml), [CPU], default_threads=1)
    by_key = {(t.model, t.framework): t for t in trials}
    native = by_key[("mine", "torch")]
    assert native.definition == "native" and native.native == f"{factories}:make"
    assert not native.skip
    assert "has no keras factory" in by_key[("mine", "keras")].skip
    assert "NumPy runner builds spec models only" in by_key[("mine", "numpy")].skip
    spec = by_key[("seed_cnn", "torch")]
    assert spec.definition == "spec" and spec.native == ""
    assert spec.user_models == native.user_models == {"mine": {"torch": f"{factories}:make"}}
    assert Trial.from_json(native.to_json()) == native


def test_recorded_config_reinstalls_the_same_models(tmp_path, monkeypatch):
    """--resume and trial children read the section as run.json records it: absolute paths,
    so another current folder finds the same files."""
    monkeypatch.chdir(REPO)
    recorded = config.load(EXAMPLES / "bench.toml").to_dict()
    assert recorded["models"]["files"] == [str(EXAMPLES / "my_models.py")]
    zoo.clear_user()
    monkeypatch.chdir(tmp_path)
    doc = {k: v for k, v in recorded.items() if k != "source"}
    again = config.parse(doc, "run.json")
    assert set(zoo.user_names()) == {"tiny_vgg", "small_mlp", "native_cnn"}
    assert again.models == recorded["models"]


def test_a_warm_cache_is_keyed_by_the_network_not_just_its_name(tmp_path):
    """Editing a layer list or a native factory's file starts a new warm cache (a filled cache
    of the old network would leave the new one compiling cold in a trial called warm)."""
    from bench.launchers.caches import cache_key

    factories = write(tmp_path, "factories.py", "def make(shape, classes): ...\n")
    sweep = "[sweep]\nframeworks = ['torch']\nmodels = ['stack', 'mine']\ncaches = ['warm']\n"

    def keys(units: int) -> dict[str, str]:
        zoo.clear_user()
        layers = f'layers = ["Flatten", {{ layer = "Dense", units = {units} }}, "ReLU",'
        tables = (
            f'[models.stack]\n{layers} {{ layer = "Dense", units = "classes" }}]\n'
            f'[models.mine]\ntorch = "{factories}:make"\n'
        )
        toml = write(tmp_path, "bench.toml", TINY.replace("[sweep]\n", sweep) + tables)
        return {t.model: cache_key(t) for t in plan(config.load(toml), [CPU], default_threads=1)}

    first = keys(16)
    assert keys(16) == first  # the same networks: the same caches
    edited = keys(32)
    assert edited["stack"] != first["stack"] and edited["mine"] == first["mine"]
    factories.write_text("def make(shape, classes):\n    return None\n", encoding="utf-8")
    assert keys(32)["mine"] != edited["mine"]


def test_a_native_module_is_found_on_the_import_path_without_importing_it(tmp_path, monkeypatch):
    from bench.launchers.caches import _module_file

    package = tmp_path / "lab" / "nets"
    package.mkdir(parents=True)
    (tmp_path / "lab" / "__init__.py").write_text("raise SystemExit('imported')\n")
    (package / "__init__.py").write_text("")
    (package / "cnn.py").write_text("def make(shape, classes): ...\n")
    monkeypatch.chdir(tmp_path)
    assert _module_file("lab.nets.cnn") == tmp_path / "lab" / "nets" / "cnn.py"
    assert _module_file("lab.nets") == package / "__init__.py"
    assert _module_file("lab.missing") is None
