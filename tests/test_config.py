"""bench.toml → Config: defaults, round-trips, and one clear UsageError for every bad input.

Every error must name the file (or the CLI flags) and the key, so that a user can fix it without
reading the code; where it helps, the bad value and the valid choices too. A property test throws
random, mostly-invalid documents at `parse`: it may only ever return a Config or raise UsageError.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core import config
from bench.core.config import SECTIONS, Config, load, parse
from bench.errors import UsageError
from models import zoo

VALID_TOML = """
[sweep]
frameworks = ["torch", "keras", "fake"]
models = ["seed_cnn", "seed_ffnn"]
devices = ["cpu", "cuda:0"]
batch_sizes = [32, 128]
input_sizes = [28, 56]
torch_modes = ["eager", "compile"]
keras_modes = ["graph", "xla"]
keras_backends = ["tensorflow"]
caches = ["cold", "warm"]
precisions = ["fp32", "bf16"]
autotune = ["default", "on"]
threads = [1, 2]
repeats = 3
warmup = 1
parallel = ["single", "data"]
world_sizes = [2, 4]

[train]
epochs = 5
samples = 1000
optimizer = "adam"
learning_rate = 0.001
momentum = 0.0
weight_decay = 0.01
implementation = "fused"
clip_grad_norm = 1.0
lr_schedule = "cosine"
warmup_steps = 10
timeout_s = 60

[data]
dataset = "synthetic"
seed = 7
pipeline = ["memory", "loader"]
workers = 2
augment = false
val_fraction = 0.1
evaluate = true

[output]
dir = "out/here"
name = "laptop"

[monitor]
enabled = false
interval_s = 0.5
steps = false

[options.vgg16]
classifier = ["fc512"]
frozen = [false, true]

[fake]
phase_s = 0.25
first_step_s = 0.5
epoch_s = [3.0, 1.0, 1.5]
sleep = true
fail = "raise"
fail_epoch = 2
fail_rank = 1
slow_models = ["seed_cnn"]
slowdown = 1.5

[launcher]
kind = "slurm"
partitions = ["a100", "h100"]
gpus_per_node = 1
cpus_per_task = 8
mem_gb = 32.0
time_min = 90
exclusive = true
array_parallelism = 4
poll_s = 10.0
lost_after_s = 120.0
additional = {account = "lab", requeue = true}
folder = "/shared/submitit"
"""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def to_toml(doc: dict[str, Any]) -> str:
    """A minimal TOML writer for `Config.to_dict()` (tables of scalars and flat lists)."""
    lines = []
    for section, keys in doc.items():
        if not isinstance(keys, dict):
            continue
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in keys.items()]
        lines.append("")
    return "\n".join(lines)


def write(tmp_path: Path, text: str, name: str = "bench.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load(path)
    return path, str(info.value)


# --- defaults and valid files ------------------------------------------------------------------


def test_defaults_load() -> None:
    cfg = load(None)
    assert cfg == Config()
    assert cfg.source == "(defaults)"
    assert cfg.sweep.frameworks == ("torch", "keras")
    assert cfg.train.epochs >= 2
    assert cfg.train.samples >= max(cfg.sweep.batch_sizes)


def test_repo_bench_toml_is_valid() -> None:
    path = Path(__file__).resolve().parents[1] / "bench.toml"
    cfg = load(path)
    assert cfg.source == str(path)


def test_valid_file_loads_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_TOML)
    cfg = load(path)
    assert cfg.source == str(path)
    assert cfg.sweep.frameworks == ("torch", "keras", "fake")
    assert cfg.sweep.devices == ("cpu", "cuda:0")
    assert cfg.sweep.batch_sizes == (32, 128)
    assert cfg.sweep.threads == (1, 2)
    assert cfg.sweep.repeats == 3
    assert cfg.train.epochs == 5
    assert cfg.train.optimizer == "adam"
    assert cfg.train.timeout_s == 60.0 and isinstance(cfg.train.timeout_s, float)
    assert cfg.data.seed == 7
    assert cfg.output.name == "laptop"
    assert cfg.fake.epoch_s == (3.0, 1.0, 1.5)
    assert cfg.fake.sleep is True
    assert cfg.fake.fail == "raise"
    assert cfg.launcher.partitions == ("a100", "h100")
    assert dict(cfg.launcher.additional) == {"account": "lab", "requeue": True}


def test_valid_file_round_trips(tmp_path: Path) -> None:
    first = load(write(tmp_path, VALID_TOML))
    doc = first.to_dict()
    expected = tomllib.loads(VALID_TOML)
    expected["train"]["timeout_s"] = 60.0  # ints in float fields come back as floats
    assert {s: doc[s] for s in [*SECTIONS, "options"]} == expected
    again_path = write(tmp_path, to_toml(doc), "again.toml")
    again = load(again_path)
    assert again.to_dict() | {"source": ""} == doc | {"source": ""}


def test_defaults_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, to_toml(Config().to_dict()))
    assert load(path).to_dict() | {"source": ""} == Config().to_dict() | {"source": ""}


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert load(path) == Config(source=str(path))


# --- one UsageError per mistake ------------------------------------------------------------------

# (toml text, fragments the message must contain besides the file path)
BAD_FILES = {
    "unknown section": ("[sweeps]\nrepeats = 2\n", ["[sweeps]", "sweep, train"]),
    "top-level key": ("epochs = 3\n", ["epochs", "valid sections"]),
    "section not a table": ("sweep = 3\n", ["[sweep]", "table"]),
    "unknown key": ("[train]\nepoch = 3\n", ["'epoch'", "[train]", "epochs"]),
    "string for int": ('[train]\nepochs = "4"\n', ["[train] epochs", "'4'", "an integer"]),
    "float for int": ("[train]\nepochs = 4.0\n", ["[train] epochs", "4.0", "an integer"]),
    "bool for int": ("[sweep]\nrepeats = true\n", ["[sweep] repeats", "True", "an integer"]),
    "bool for float": ("[train]\nlearning_rate = false\n", ["learning_rate", "a number"]),
    "int for string": ("[train]\noptimizer = 1\n", ["[train] optimizer", "adam, adamw, sgd"]),
    "string for bool": ('[fake]\nsleep = "yes"\n', ["[fake] sleep", "'yes'", "true or false"]),
    "scalar for list": ("[sweep]\nbatch_sizes = 64\n", ["batch_sizes", "64", "list of integers"]),
    "scalar string for list": ('[sweep]\nmodels = "seed_cnn"\n', ["models", "'seed_cnn'", "list"]),
    "list of strings for ints": (
        '[sweep]\nbatch_sizes = ["64"]\n',
        ["batch_sizes", "['64']", "list of integers"],
    ),
    "list of floats for ints": ("[sweep]\nthreads = [1.5]\n", ["threads", "[1.5]", "integers"]),
    "list of ints for strings": ("[sweep]\nframeworks = [1]\n", ["frameworks", "[1]", "strings"]),
    "mixed list": ('[fake]\nepoch_s = [1.0, "x"]\n', ["epoch_s", "'x'", "list of numbers"]),
    "empty list": ("[sweep]\nmodels = []\n", ["models", "[]", "non-empty"]),
    "empty device list": ("[sweep]\ndevices = []\n", ["devices", "[]", "non-empty"]),
    "zero batch size": ("[sweep]\nbatch_sizes = [0]\n", ["batch_sizes", "[0]", "≥ 1"]),
    "negative batch size": ("[sweep]\nbatch_sizes = [32, -8]\n", ["batch_sizes", "-8", "≥ 1"]),
    "zero repeats": ("[sweep]\nrepeats = 0\n", ["repeats", "0", "≥ 1"]),
    "epochs 1": ("[train]\nepochs = 1\n", ["[train] epochs", "1", "≥ 2"]),
    "epochs 0": ("[train]\nepochs = 0\n", ["[train] epochs", "≥ 2"]),
    "negative timeout": ("[train]\ntimeout_s = -1\n", ["timeout_s", "-1", "≥ 1"]),
    "too many repeats": ("[sweep]\nrepeats = 1001\n", ["[sweep] repeats", "1001", "≤ 1000"]),
    "huge batch size": ("[sweep]\nbatch_sizes = [4194304]\n", ["batch_sizes", "≤ 1048576"]),
    "week-long timeout": ("[train]\ntimeout_s = 1e9\n", ["timeout_s", "≤ 604800"]),
    "seed beyond NumPy": ("[data]\nseed = 4294967296\n", ["[data] seed", "≤ 4294967295"]),
    "val_fraction 1": ("[data]\nval_fraction = 1.0\n", ["val_fraction", "≥ 0 and < 1"]),
    "unknown framework": (
        '[sweep]\nframeworks = ["torch", "tensorflow"]\n',
        ["frameworks", "'tensorflow'", "torch, keras, numpy, fake"],
    ),
    "unknown optimizer": ('[train]\noptimizer = "rmsprop"\n', ["optimizer", "'rmsprop'", "sgd"]),
    "unknown dataset": ('[data]\ndataset = "mnist"\n', ["dataset", "'mnist'", "synthetic"]),
    "unknown fake failure": ('[fake]\nfail = "explode"\n', ["[fake] fail", "'explode'", "hang"]),
    "unknown model": (
        '[sweep]\nmodels = ["seed_cnn", "resnet9000"]\n',
        ["models", "'resnet9000'", "seed_cnn", "seed_ffnn"],
    ),
    "device gpu0": ('[sweep]\ndevices = ["gpu0"]\n', ["devices", "'gpu0'", "cuda:N"]),
    "device cuda:x": ('[sweep]\ndevices = ["cuda:x"]\n', ["devices", "'cuda:x'", "cuda:N"]),
    "device cuda:": ('[sweep]\ndevices = ["cuda:"]\n', ["devices", "'cuda:'"]),
    "device cuda0": ('[sweep]\ndevices = ["cpu", "cuda0"]\n', ["devices", "'cuda0'"]),
    "device upper case": ('[sweep]\ndevices = ["CPU"]\n', ["devices", "'CPU'"]),
    "samples below batch": (
        "[sweep]\nbatch_sizes = [32, 256]\n[train]\nsamples = 100\n",
        ["[train] samples", "100", "256"],
    ),
    "invalid toml": ("[sweep\nrepeats = 2\n", ["not valid TOML"]),
    "invalid toml value": ("[sweep]\nrepeats = two\n", ["not valid TOML"]),
    "duplicate key": ("[sweep]\nrepeats = 2\nrepeats = 3\n", ["not valid TOML"]),
}


@pytest.mark.parametrize("text, fragments", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path, message = error_of(tmp_path, text)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "\n" not in message.strip(), "one paragraph"


def test_unknown_model_lists_every_valid_model(tmp_path: Path) -> None:
    _, message = error_of(tmp_path, '[sweep]\nmodels = ["nosuch"]\n')
    for name in zoo.names():
        assert name in message


def test_unknown_key_lists_valid_keys(tmp_path: Path) -> None:
    _, message = error_of(tmp_path, "[sweep]\nbatch_size = [32]\n")
    for key in ("frameworks", "models", "devices", "batch_sizes", "threads", "repeats"):
        assert key in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(UsageError, match="not found") as info:
        load(path)
    assert str(path) in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read") as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[output]\nname = "caf\xe9"\n')
    with pytest.raises(UsageError) as info:
        load(path)
    assert str(path) in str(info.value)


def test_usage_error_exit_code_is_2() -> None:
    assert UsageError("x").exit_code == 2


def test_huge_integer_for_float_key_is_a_usage_error(tmp_path: Path) -> None:
    _, message = error_of(tmp_path, "[train]\nlearning_rate = 1" + "0" * 400 + "\n")
    assert "learning_rate" in message


@pytest.mark.parametrize("key", ["learning_rate", "timeout_s"])
def test_nan_is_rejected(tmp_path: Path, key: str) -> None:
    _, message = error_of(tmp_path, f"[train]\n{key} = nan\n")
    assert key in message


def test_bad_output_name_is_rejected_at_load(tmp_path: Path) -> None:
    _, message = error_of(tmp_path, '[output]\nname = "a/b"\n')
    assert "name" in message


# --- CLI overrides -------------------------------------------------------------------------------

BASE = "[sweep]\nbatch_sizes = [32]\nrepeats = 2\n[train]\nepochs = 3\nsamples = 640\n"


def test_overrides_replace_file_values(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    cfg = load(
        path,
        {"sweep": {"batch_sizes": [16, 64], "frameworks": ["fake"]}, "train": {"epochs": 6}},
        ["--batch-sizes", "--frameworks", "--epochs"],
    )
    assert cfg.sweep.batch_sizes == (16, 64)
    assert cfg.sweep.frameworks == ("fake",)
    assert cfg.train.epochs == 6
    assert cfg.sweep.repeats == 2  # untouched file value
    assert cfg.train.samples == 640
    assert cfg.source == f"{path} + command line (--batch-sizes, --frameworks, --epochs)"


def test_overrides_on_defaults() -> None:
    cfg = load(None, {"output": {"dir": "elsewhere", "name": "x"}}, ["--out", "--name"])
    assert cfg.output.dir == "elsewhere"
    assert cfg.output.name == "x"
    assert cfg.sweep == Config().sweep


def test_empty_overrides_are_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert load(path, {}, []) == load(path)


# (overrides, flags, fragments the message must contain)
BAD_OVERRIDES = {
    "batch size 0": ({"sweep": {"batch_sizes": [0]}}, ["--batch-sizes"], ["batch_sizes", "[0]"]),
    "epochs text": ({"train": {"epochs": "x"}}, ["--epochs"], ["epochs", "'x'"]),
    "epochs 1": ({"train": {"epochs": 1}}, ["--epochs"], ["epochs", "≥ 2"]),
    "framework typo": (
        {"sweep": {"frameworks": ["tensorflw"]}},
        ["--frameworks"],
        ["frameworks", "'tensorflw'", "torch, keras, numpy, fake"],
    ),
    "model typo": ({"sweep": {"models": ["seed_cn"]}}, ["--models"], ["'seed_cn'", "seed_cnn"]),
    "device typo": ({"sweep": {"devices": ["gpu"]}}, ["--devices"], ["devices", "'gpu'"]),
    "samples below file batch": (
        {"train": {"samples": 10}},
        ["--samples"],
        ["samples", "10", "32"],
    ),
    "batch above file samples": (
        {"sweep": {"batch_sizes": [1024]}},
        ["--batch-sizes"],
        ["samples", "640", "1024"],
    ),
}


@pytest.mark.parametrize(
    "overrides, flags, fragments", list(BAD_OVERRIDES.values()), ids=list(BAD_OVERRIDES)
)
def test_bad_override_names_flag_and_key(
    tmp_path: Path, overrides: dict, flags: list[str], fragments: list[str]
) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(UsageError) as info:
        load(path, overrides, flags)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for flag in flags:
        assert flag in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_file_error_is_reported_before_overrides(tmp_path: Path) -> None:
    """A bad file value is the file's fault, even when flags are given too."""
    path = write(tmp_path, "[train]\nepochs = 1\n")
    with pytest.raises(UsageError) as info:
        load(path, {"sweep": {"repeats": 2}}, ["--repeats"])
    assert "--repeats" not in str(info.value)
    assert "epochs" in str(info.value)


def test_override_fixes_bad_cross_field_file_value(tmp_path: Path) -> None:
    """Cross-field checks see the merged values: samples from the file, batch from the flag."""
    path = write(tmp_path, "[sweep]\nbatch_sizes = [32]\n[train]\nsamples = 32\n")
    cfg = load(path, {"sweep": {"batch_sizes": [16]}}, ["--batch-sizes"])
    assert cfg.sweep.batch_sizes == (16,)


# --- property: never anything but Config or UsageError ------------------------------------------

KEYS = {name: [f.name for f in cls.__dataclass_fields__.values()] for name, cls in SECTIONS.items()}
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # TOML's integer range
NAMES = st.sampled_from(
    [
        *zoo.names(),
        *config.FRAMEWORKS,
        *config.FAKE_FAILURES,
        *config.OPTIMIZERS,
        "synthetic",
        "auto",
        "cpu",
        "cuda",
        "cuda:0",
        "cuda:12",
        "gpu",
        "",
        "results",
    ]
)
SCALARS = st.one_of(
    INT64,
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    NAMES,
    st.text(max_size=8),
    st.datetimes(),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    names = draw(st.lists(st.sampled_from([*SECTIONS, "extra", "Sweep"]), max_size=5, unique=True))
    for name in names:
        if draw(st.integers(0, 19)) == 0:
            doc[name] = draw(VALUES)  # a section that is not a table
            continue
        known = KEYS.get(name, ["x"])
        keys = draw(st.lists(st.sampled_from([*known, "bogus"]), max_size=6, unique=True))
        doc[name] = {key: draw(VALUES) for key in keys}
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_parse_only_returns_config_or_raises_usage_error(doc: dict[str, Any]) -> None:
    try:
        cfg = parse(doc, "random.toml")
    except UsageError as exc:
        assert str(exc).startswith("random.toml: ")
        return
    assert isinstance(cfg, Config)
    assert cfg.train.epochs >= 2
    assert min(cfg.sweep.batch_sizes) >= 1
    assert cfg.train.samples >= max(cfg.sweep.batch_sizes)


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {"threads": st.lists(st.integers(1, 8), min_size=1, max_size=3, unique=True)},
        optional={
            "frameworks": st.lists(
                st.sampled_from(config.FRAMEWORKS), min_size=1, max_size=3, unique=True
            ),
            "models": st.lists(st.sampled_from(["seed_cnn", "seed_ffnn"]), min_size=1, unique=True),
            "batch_sizes": st.lists(st.integers(1, 512), min_size=1, max_size=4, unique=True),
            "repeats": st.integers(1, 5),
        },
    ),
    st.integers(2, 10),
    st.integers(512, 10_000),
)
def test_valid_documents_parse_and_round_trip(
    sweep: dict[str, Any], epochs: int, samples: int
) -> None:
    doc = {"sweep": sweep, "train": {"epochs": epochs, "samples": samples}}
    cfg = parse(doc, "ok.toml")
    again = parse({s: v for s, v in cfg.to_dict().items() if s != "source"}, "ok.toml")
    assert again == cfg
    assert tomllib.loads(to_toml(cfg.to_dict())) == {
        s: v for s, v in cfg.to_dict().items() if s != "source"
    }


def test_built_in_defaults_are_the_shipped_bench_toml() -> None:
    """A run started outside the repository (no ./bench.toml) plans the same sweep as one
    started in it, so the two can be compared: 4 repeats, 6 epochs (5 steady: the drift test
    runs), 3200 samples."""
    shipped = load(Path(__file__).resolve().parent.parent / "bench.toml").to_dict()
    built_in = load(None).to_dict()
    assert {k: v for k, v in shipped.items() if k != "source"} == {
        k: v for k, v in built_in.items() if k != "source"
    }
    assert (built_in["sweep"]["repeats"], built_in["train"]["epochs"]) == (4, 6)
