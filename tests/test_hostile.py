"""Hostile input stays data: a config, flag, spec file or name from someone else may not run a
command, write outside the output folder, or end the harness with a traceback.

Each case is fed to `bench run --dry-run` the way a user would (flags, a bench.toml, a spec
file it names) and must exit 2 with one `bench: error:` line naming what is wrong — no
traceback — and leave the file system around the test folder, and HOME, exactly as it was.
The job-script tests run the scripts for real; the credential tests start real children.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.__main__ import main
from tests.conftest import REPO

LONG = "a" * 240
INJECT = ["$(touch PWNED)", "`touch PWNED`", "a;touch PWNED", "a\ntouch PWNED", "a|id", "a&&id"]


@dataclass(frozen=True)
class Case:
    """One hostile input: extra `run` flags, a bench.toml, spec files, and what the error says."""

    flags: tuple[str, ...] = ()
    toml: str = ""
    specs: dict[str, str] = field(default_factory=dict)
    says: str = ""


def flag(name: str, value: str, says: str = "") -> Case:
    return Case(flags=(f"--{name}={value}",), says=says)


def spec(body: str, says: str = "spec.py") -> Case:
    head = "from models.spec import Dense, Flatten, ModelSpec\n"
    head += "from models.zoo import Option, register\n"
    toml = '[models]\nfiles = ["spec.py"]\n'
    return Case(toml=toml, specs={"spec.py": head + body}, says=says)


def model_spec(name: str, options: str = "") -> str:
    return (
        f"@register({name!r}, input_shape=(28, 28, 1), classes=10{options})\n"
        "def build(input_shape, classes, **kw):\n"
        "    return ModelSpec('m', input_shape, classes, [Flatten(), Dense(classes)])\n"
    )


SLURM = '[launcher]\nkind = "slurm"\n'
CASES: dict[str, Case] = {
    # names that become paths, ids, job names
    **{f"name {v!r}": flag("name", v, "[output] name") for v in
       ["../x", "a/b", "..", ".hidden", "a b", "é", "-x", LONG, "a" * 65, *INJECT]},
    **{f"partition {v!r}": flag("partitions", v, "[launcher] partitions") for v in
       ["x/../../../ESCAPED", "/abs", "..", LONG, *INJECT]},
    "partition in toml": Case(toml=SLURM + 'partitions = ["ok", "a/../b"]\n', says="partitions"),
    "name in toml": Case(toml='[output]\nname = "$(id)"\n', says="[output] name"),
    "model traversal": flag("models", "../../etc/passwd", "unknown model"),
    "model injection": flag("models", "seed_cnn;rm", "unknown model"),
    "framework injection": flag("frameworks", "torch;id", "[sweep] frameworks"),
    "device traversal": flag("devices", "../cpu", "[sweep] devices"),
    # numbers: huge, negative, NaN, not numbers
    **{f"repeats {v}": flag("repeats", v, "[sweep] repeats") for v in
       ["99999999999999999999999", "100000000", "-1", "0", "nan", "1e3", "true"]},
    "epochs 1": flag("epochs", "1", "[train] epochs"),
    "epochs huge": flag("epochs", "1000000000", "[train] epochs"),
    "samples 0": flag("samples", "0", "[train] samples"),
    "samples huge": flag("samples", "1000000000000", "[train] samples"),
    **{f"batch {v}": flag("batch-sizes", v, "[sweep] batch_sizes") for v in
       ["0", "-5", "99999999", "1.5"]},
    "threads 0": flag("threads", "0", "[sweep] threads"),
    "threads huge": flag("threads", "100000", "[sweep] threads"),
    "world huge": flag("world-sizes", "100000", "[sweep] world_sizes"),
    "world 0": flag("world-sizes", "0", "[sweep] world_sizes"),
    **{f"timeout {v}": Case(flags=("--set", f"train.timeout_s={v}"), says="[train] timeout_s")
       for v in ["inf", "nan", "-1", "1e309"]},
    "warmup huge": Case(flags=("--set", "sweep.warmup=1000"), says="[sweep] warmup"),
    "time_min huge": Case(flags=("--set", "launcher.time_min=1000000000"), says="time_min"),
    "array 0": Case(flags=("--set", "launcher.array_parallelism=0"), says="array_parallelism"),
    # paths with control characters (a newline would split a job script's line)
    "out newline": flag("out", "o\ntouch PWNED", "[output] dir"),
    "folder newline": Case(toml=SLURM + 'folder = "f\\ntouch PWNED"\n', says="[launcher] folder"),
    # sbatch options: unknown, managed by bench, control characters, bad values
    **{f"additional {k}": Case(toml=SLURM + f"additional = {{ {k} }}\n", says=says) for k, says in [
        ('wrap = "touch PWNED"', "set by bench itself"),
        ('output = "/etc/x"', "set by bench itself"),
        ('export = "ALL,LD_PRELOAD=/x.so"', "not an sbatch option"),
        ('"account\\n#SBATCH --wrap=id" = "x"', "not an sbatch option"),
        ('account = "lab\\ntouch PWNED"', "control characters"),
        ('account = ""', "non-empty"),
        ("account = false", "true for a bare flag"),
        ("account = 1.5", "[launcher] additional"),
        ('nonsense = "x"', "not an sbatch option"),
        ('get_user_env = true', "not an sbatch option"),
    ]},
    # users' models: names and options from a bench.toml table or a spec file
    "table model traversal": Case(
        toml='[models."../evil"]\nlayers = [{ Flatten = {} }, { Dense = { units = 10 } }]\n',
        says="not a valid model name",
    ),
    "table model mathtext": Case(
        toml='[models."a$x$"]\nlayers = [{ Flatten = {} }, { Dense = { units = 10 } }]\n',
        says="not a valid model name",
    ),
    "spec sys.exit": spec("import sys\nsys.exit(0)\n", "raises SystemExit"),
    "spec sys.exit 3": spec("raise SystemExit(3)\n", "raises SystemExit"),
    "spec interrupt": spec("raise KeyboardInterrupt\n", "raises KeyboardInterrupt"),
    "spec factory exits": spec(
        model_spec("quits").replace("return", "import sys; sys.exit(1)\n    return"),
        "raises SystemExit",
    ),
    "spec name traversal": spec(model_spec("../../evil"), "not a valid name"),
    "spec name mathtext": spec(model_spec("a$x$"), "not a valid name"),
    "spec name html": spec(model_spec("<script>"), "not a valid name"),
    "spec name long": spec(model_spec("m" * 100), "at most 64"),
    **{f"spec option {k}": spec(model_spec(k, f", options={{{opt}}}"), says) for k, opt, says in [
        ("key", "'a/b': Option(1, (1, 2))", "option name"),
        ("value", "'w': Option('$x$', ('$x$',))", "is not allowed"),
        ("path", "'w': Option('../x', ('../x',))", "is not allowed"),
        ("nan", "'w': Option(1.0, (1.0, float('nan')))", "is not allowed"),
    ]},
}  # fmt: skip


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_there_are_at_least_sixty_hostile_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_hostile_input_exits_2_with_one_line_and_touches_nothing(case: Case, tmp_path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    argv = ["run", "--dry-run", "--frameworks", "fake", "--out", str(work / "out")]
    if case.toml:
        (work / "bench.toml").write_text(case.toml, encoding="utf-8")
        argv += ["--config", str(work / "bench.toml")]
    for name, text in case.specs.items():
        (work / name).write_text(text, encoding="utf-8")
    argv += case.flags
    home = Path.home()
    before = tree(tmp_path), sorted(os.listdir(tmp_path.parent)), tree(home)
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(work)  # relative spec paths are read from here, as a user's shell would
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    finally:
        os.chdir(cwd)
    message = err.getvalue()
    assert code == 2, (argv, message, out.getvalue()[-500:])
    assert "Traceback" not in message
    assert message.startswith("bench: error:") and message.count("\n") == 1, message
    assert case.says in message, message
    assert (tree(tmp_path), sorted(os.listdir(tmp_path.parent)), tree(home)) == before
    assert not list(tmp_path.parent.rglob("PWNED")) and not (work / "out").exists()


def test_a_spec_file_that_exits_is_exit_2_in_a_real_process(tmp_path) -> None:
    """The real command line: `sys.exit(0)` in a spec file used to end `bench run` with 0 and
    no output; now the harness names the file."""
    case = CASES["spec sys.exit"]
    (tmp_path / "spec.py").write_text(case.specs["spec.py"], encoding="utf-8")
    (tmp_path / "bench.toml").write_text(case.toml, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--frameworks", "fake", "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "spec.py" in done.stderr and "raises SystemExit" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_cpu_world_size_past_this_machines_cores_is_planned_as_skipped(tmp_path) -> None:
    """A colleague's `world_sizes = [1000]` plans (it is within the declared bound) but starts
    no rank: the trial is skipped, saying why."""
    out = io.StringIO()
    argv = ["run", "--dry-run", "--frameworks", "fake", "--parallel", "data",
            "--world-sizes", "1000", "--out", str(tmp_path / "out")]  # fmt: skip
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    assert "world size 1000 needs 1000 CPU cores, one per rank; this machine has" in out.getvalue()


SECRETS = {
    "FOO_TOKEN": "s3cret-foo",
    "TORCH_HUB_TOKEN": "s3cret-hub",
    "TF_VAR_db_password": "s3cret-tfvar",
    "TF_CLI_CONFIG_FILE": "/s3cret/tf.rc",
    "CUDA_API_KEY": "s3cret-cuda",
    "NCCL_SECRET": "s3cret-nccl",
    "KERAS_PASSWORD": "s3cret-keras",
    "JAX_CREDENTIALS": "s3cret-jax",
}


def test_a_trial_child_gets_no_credentials(monkeypatch) -> None:
    """The environment every framework child is given (`device_env`) drops names that look
    like credentials even under an allowed prefix; a real child started with it sees none."""
    from bench.hardware.device_env import device_env

    for name, value in {**SECRETS, "TF_CPP_MIN_LOG_LEVEL": "2", "NCCL_DEBUG": "INFO"}.items():
        monkeypatch.setenv(name, value)
    env = device_env("cpu", "", 1)
    shown = subprocess.run(
        [sys.executable, "-c", "import os; print(sorted(os.environ))"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert not [name for name in SECRETS if name in shown]
    assert "TF_CPP_MIN_LOG_LEVEL" in shown and "NCCL_DEBUG" in shown, "framework settings pass"


def fake_run(tmp_path: Path, env: dict[str, str], repeats: int = 1) -> Path:
    """A small real run on the fake framework; its run folder."""
    args = ["--frameworks", "fake", "--models", "seed_ffnn", "--devices", "cpu", "--repeats",
            str(repeats), "--epochs", "3", "--samples", "64", "--batch-sizes", "64",
            "--threads", "1", "--no-report", "--out", "out"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bench", "run", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = (tmp_path / "out").iterdir()
    return folder


def test_no_run_file_records_a_dropped_variable(tmp_path) -> None:
    """A real fake run with credentials in the parent's environment: no value of one is in any
    file of the run folder (settings.csv, run.json, logs)."""
    folder = fake_run(tmp_path, dict(os.environ, PYTHONPATH=str(REPO), **SECRETS))
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "settings.csv" for p in files)
    for path in files:
        text = path.read_bytes()
        assert not [v for v in SECRETS.values() if v.encode() in text], path


HOSTILE_TOML = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cpu"]
batch_sizes = [32]
threads = [1]
repeats = 1

[train]
epochs = 2
samples = 64

[launcher]
kind = "slurm"
partitions = ["gpu-a"]
additional = { comment = "$(touch PWNED1) `touch PWNED2`; touch PWNED3 | x & y 'q' \\"d\\"" }
"""


def dry_run_script(tmp_path: Path, out: str, *flags: str) -> str:
    """The plain job script `bench run --dry-run` prints for the one partition."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--config", "hostile $(touch PWNED4).toml",
         "--dry-run", "--out", out, *flags],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split("this job script runs the same sweep on one node:\n", 1)[1]
    return "\n".join(line[4:] for line in lines.splitlines() if line.startswith("    ")) + "\n"


def test_the_dry_run_job_script_keeps_hostile_values_as_data(tmp_path) -> None:
    """Shell metacharacters in a config value, the config's path, the output folder and a
    `--set` reach the job script quoted: `bash -n` accepts it, and running it (the `#SBATCH`
    lines are comments to bash; the sweep runs here on the fake framework) runs the sweep and
    creates no file a command substitution would have."""
    (tmp_path / "hostile $(touch PWNED4).toml").write_text(HOSTILE_TOML, encoding="utf-8")
    out = "out $(touch PWNED5) `touch PWNED6`"
    script = dry_run_script(tmp_path, out, "--set", "fake.slow_models=$(touch PWNED7)")
    assert "#SBATCH --comment='$(touch PWNED1)" in script, script
    path = tmp_path / "job.sh"
    path.write_text(script, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    ran = subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not list(tmp_path.rglob("PWNED*")), "a command substitution ran"
    (run,) = (tmp_path / out).iterdir()
    assert run.name.endswith("-gpu-a") and (run / "trials.csv").exists()


def test_submitits_job_script_keeps_hostile_values_as_data(tmp_path) -> None:
    """The same values through submitit's own sbatch text (its `_make_sbatch_string`, fed the
    parameters `slurm_parameters` gives it): valid bash, and running it substitutes nothing."""
    pytest.importorskip("submitit")
    from submitit.slurm.slurm import _make_sbatch_string

    from bench.core.config import load
    from bench.launchers.slurm import slurm_parameters

    (tmp_path / "h.toml").write_text(HOSTILE_TOML, encoding="utf-8")
    params = slurm_parameters(load(tmp_path / "h.toml").launcher, "gpu-a")
    text = _make_sbatch_string(
        command="true", folder=tmp_path / "sub $(touch PWNED8)", job_name=params["name"],
        partition=params["slurm_partition"], exclusive=True, nodes=1, ntasks_per_node=1,
        time=params["timeout_min"], additional_parameters=params["slurm_additional_parameters"],
        srun_args=None, use_srun=False,
    )  # fmt: skip
    path = tmp_path / "submitit.sh"
    path.write_text(text, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    subprocess.run(["bash", str(path)], capture_output=True, cwd=tmp_path, timeout=60)
    assert not list(tmp_path.rglob("PWNED*")), text


def test_mnist_labels_out_of_range_are_refused(tmp_path) -> None:
    """A label of 200 used to build a 201-class model silently."""
    from bench.data.source import DatasetError
    from tests.test_datasets import load, write_mnist

    folder = write_mnist(tmp_path / "mnist", n_train=20)
    raw = bytearray((folder / "train-labels-idx1-ubyte").read_bytes())
    raw[8 + 7] = 200
    (folder / "train-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"label 200 at position 7 is out of range"):
        load(f"mnist:{folder}", (28, 28, 1), 10, 20, seed=0)


def test_image_folder_class_names_follow_the_name_rule(tmp_path) -> None:
    from bench.data.source import DatasetError, list_class_dirs

    for name in ("cat", "dog$x$"):
        (tmp_path / name).mkdir()
    with pytest.raises(DatasetError, match=r"'dog\$x\$' is not a valid class name"):
        list_class_dirs(tmp_path)


def test_a_report_of_a_foreign_run_shows_hostile_names_as_text(tmp_path) -> None:
    """A results folder from another machine whose model name holds mathtext and HTML: the
    report draws it (no mathtext error, rc 0) and report.md escapes the tag."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    folder = fake_run(tmp_path, env, repeats=2)
    hostile = "m$\\frac$<script>alert(1)</script>"
    for table in folder.glob("*.csv"):
        table.write_text(table.read_text().replace("seed_ffnn", hostile))
    done = subprocess.run([sys.executable, "-m", "bench", "report", str(folder), "--dest",
                           str(tmp_path / "rep")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    markdown = (tmp_path / "rep" / "report.md").read_text()
    assert "&lt;script>" in markdown and "<script>" not in markdown
    assert list((tmp_path / "rep" / "figures").glob("*.png"))
