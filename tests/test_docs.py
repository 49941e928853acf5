"""The documentation holds together (issue 31, "Docs split"): the README stays a front page, no
link is dead, every column and flag is documented, and every command in the README runs.

What counts as a README command: each line of a fenced block marked ```sh, ```bash or ```shell
(blank lines and `#` comment lines left out, a trailing `  # comment` cut off, a line ending
in `\\` joined to the next), and in a ```console block each line that starts with `$ ` (without
it; the other lines are output). A command in backticks in the prose is not one: whatever a
reader is meant to type goes in such a block. `COMMANDS` maps every README command to how it is
exercised; a README command missing from the table, or a table entry no longer in the README,
fails `test_every_readme_command_is_in_the_table`. The `python -m bench` commands run for real
in the test's empty folder, with `--out` added where they write a run, and with the fake
framework where the README's sweep would train real frameworks for minutes.
"""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import REPO, only_run_dir, run_cli

from bench.contract.schema import TABLES, columns

README = REPO / "README.md"
PAGES = [README, REPO / "results" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_FENCES = ("sh", "bash", "shell")
QUICK_RUN = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[torch,keras,analysis]' && "
    ".venv/bin/python -m bench run"
)
QUICK_TEST = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
GPU_INSTALL = (
    "python3 -m venv .venv-gpu && .venv-gpu/bin/pip install -e '.[gpu-torch,analysis]' && "
    ".venv-gpu/bin/python -m bench doctor --run"
)
GPU_TF_INSTALL = (
    "python3 -m venv .venv-tf && .venv-tf/bin/pip install -e '.[gpu-tf,analysis]' && "
    ".venv-tf/bin/python -m bench doctor --run"
)
DRY_RUN = "python -m bench run --dry-run"
MODELS = "python -m bench models"
RUN_A = "python -m bench run --name machine-a"
RUN_B = "python -m bench run --name machine-b"
COPY_B = "scp -r machine-b:bench/results/*-machine-b results/"
COMPARE = "python -m bench compare results/*-machine-a results/*-machine-b --fail-above 1.10"
OWN_TABLE = "python -m bench models --model-file my_cnn.py my_cnn"
OWN_RUN = "python -m bench run --model-file my_cnn.py --models my_cnn"
DEVICES = "python -m bench devices"

# Every README command → the test that exercises it, and how.
COMMANDS: dict[str, str] = {
    QUICK_RUN: "test_quickstart: structural — its extras exist; it ends in exactly "
    "`.venv/bin/python -m bench run`, no other argument",
    QUICK_TEST: "test_quickstart: structural — byte-identical to the last line of .ci/run",
    DRY_RUN: "test_dry_run_and_models: for real, in the repository (its bench.toml), --out a "
    "temporary folder that stays empty",
    MODELS: "test_dry_run_and_models: for real; every zoo model listed",
    RUN_A: "test_comparing_two_machines: for real on the fake framework — the same bench.toml "
    "(frameworks = fake, 4 repeats) in folders A and B, --out results",
    RUN_B: "test_comparing_two_machines: as machine A's, in folder B",
    COPY_B: "test_comparing_two_machines: emulated — B's run folder copied into A's results/ "
    "(there is no second machine to scp from)",
    COMPARE: "test_comparing_two_machines: for real, in folder A — exit 0 and `n.s.` rows for "
    "equal runs; exit 1 with the slower rows on stderr when B is 1.5× slower",
    OWN_TABLE: "test_your_own_model: for real, the README's python block saved as my_cnn.py",
    OWN_RUN: "test_your_own_model: on the fake framework (--frameworks fake), --out a "
    "temporary folder",
    GPU_INSTALL: "test_gpu_install: structural — the gpu-torch and analysis extras exist, its "
    "own venv, and `doctor --run` parses (no GPU here to run it on)",
    GPU_TF_INSTALL: "test_gpu_install: structural — as the gpu-torch line, with the gpu-tf "
    "extra in another venv",
    DEVICES: "test_devices: for real; the CPU is listed",
}
FAKE_SWEEP = """[sweep]
frameworks = ["fake"]
models = ["seed_cnn", "seed_ffnn"]
devices = ["cpu"]
repeats = 4
"""
SLOW = '\n[fake]\nslow_models = ["seed_cnn"]\nslowdown = 1.5\n'  # machine B, 1.5× slower


def fenced_blocks(path: Path) -> list[tuple[str, list[str]]]:
    """Each fenced block of a markdown file: (its language, its lines, dedented to the fence)."""
    blocks: list[tuple[str, list[str]]] = []
    fence: tuple[int, str] | None = None
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith("```"):
            fence, lines = (len(line) - len(stripped), stripped[3:].strip()), []
        elif fence is not None and stripped == "```":
            blocks.append((fence[1], lines))
            fence = None
        elif fence is not None:
            lines.append(line[fence[0] :])
    return blocks


def readme_commands() -> list[str]:
    """Every shell command in the README, by the convention at the top of this file."""
    found: list[str] = []
    for language, lines in fenced_blocks(README):
        if language == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        elif language not in SHELL_FENCES:
            continue
        text = re.sub(r"\\\n", " ", "\n".join(lines))
        for line in text.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def test_every_readme_command_is_in_the_table() -> None:
    commands = readme_commands()
    assert len(commands) == len(set(commands)), "a command appears twice in README.md"
    untested = set(commands) - set(COMMANDS)
    assert not untested, f"README commands no test runs (add them to COMMANDS): {untested}"
    gone = set(COMMANDS) - set(commands)
    assert not gone, f"COMMANDS lists commands README no longer has: {gone}"


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail to docs/"


def bench(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run README `command` (`python -m bench ...`) in `cwd` as a shell would — its globs
    expanded there — with `extra` arguments appended."""
    assert command in COMMANDS, command
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "bench"], command
    args = [m for w in words[3:] for m in (sorted(glob.glob(w, root_dir=cwd)) or [w])]
    return run_cli(*args, *extra, cwd=cwd)


def extras(command: str) -> list[str]:
    """The extras of `pip install -e '.[A,B]'` in `command`, each checked to exist."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = re.search(r"pip install -e '\.\[([a-z,-]+)\]'", command).group(1).split(",")
    assert set(names) <= set(declared["project"]["optional-dependencies"]), names
    return names


def test_quickstart() -> None:
    venv, install, run = QUICK_RUN.split(" && ")
    assert (venv, run) == ("python3 -m venv .venv", ".venv/bin/python -m bench run")
    assert install.startswith(".venv/bin/pip ") and {"torch", "keras"} <= set(extras(install))
    assert QUICK_TEST.startswith("python3 -m venv .venv && ") and "pytest" in QUICK_TEST
    assert "test" in extras(QUICK_TEST)


def test_dry_run_and_models(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dry = bench(DRY_RUN, REPO, "--out", str(out))
    assert dry.returncode == 0, dry.stderr
    assert "config: bench.toml" in dry.stdout and re.search(r"\d+ trials planned", dry.stdout)
    assert "torch/torch/eager seed_cnn" in dry.stdout and not out.exists()
    listing = bench(MODELS, Path.cwd())
    assert listing.returncode == 0, listing.stderr
    for name in ("seed_cnn", "seed_ffnn", "vgg16", "xception"):
        assert name in listing.stdout


def machine(root: Path, name: str, command: str, fake: str = "") -> Path:
    """A machine's folder with the shared bench.toml; runs README `command` there."""
    folder = root / name
    folder.mkdir()
    (folder / "bench.toml").write_text(FAKE_SWEEP + fake, encoding="utf-8")
    done = bench(command, folder, "--out", "results")
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run_dir(folder / "results")
    assert run.name.endswith("-" + name) and (run / "report.html").is_file()
    return run


def test_comparing_two_machines(tmp_path: Path) -> None:
    a = machine(tmp_path, "machine-a", RUN_A)
    for b_name, fake, code in (("machine-b", "", 0), ("slow", SLOW, 1)):
        root = tmp_path / b_name / "m"
        root.mkdir(parents=True)
        b = machine(root, "machine-b", RUN_B, fake)
        copy = a.parent / b.name  # COPY_B: scp -r machine-b:bench/results/*-machine-b results/
        shutil.copytree(b, copy)
        done = bench(COMPARE, a.parent.parent)
        assert done.returncode == code, done.stdout + done.stderr
        assert {p.name for p in (a / "compare").iterdir()} >= {"compare.md", "compare.csv"}
        if code == 0:
            assert len(re.findall(r" n\.s\.$", done.stdout, re.M)) == 8  # 2 models × 4 metrics
            assert "* slower" not in done.stdout and done.stderr == ""
        else:
            assert "* slower" in done.stdout and "seed_ffnn" not in done.stderr
            assert re.search(r"slower than 1\.10?×: steady epoch of seed_cnn", done.stderr)
        shutil.rmtree(copy)


def test_your_own_model(tmp_path: Path) -> None:
    code = [lines for language, lines in fenced_blocks(README) if language == "python"]
    assert len(code) == 1 and "Save this as `my_cnn.py`" in README.read_text(encoding="utf-8")
    (Path.cwd() / "my_cnn.py").write_text("\n".join(code[0]) + "\n", encoding="utf-8")
    table = bench(OWN_TABLE, Path.cwd())
    assert table.returncode == 0, table.stderr
    assert "defined in: my_cnn.py" in table.stdout and "parameters: 201,578" in table.stdout
    out = tmp_path / "out"
    run = bench(OWN_RUN, Path.cwd(), "--frameworks", "fake", "--out", str(out), "--no-report")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "fake-scripted-my_cnn-cpu" in run.stdout and "ok" in run.stdout
    assert (only_run_dir(out) / "trials.csv").is_file()


@pytest.mark.parametrize(
    ("command", "venv", "extra"),
    [(GPU_INSTALL, ".venv-gpu", "gpu-torch"), (GPU_TF_INSTALL, ".venv-tf", "gpu-tf")],
)
def test_gpu_install(command: str, venv: str, extra: str) -> None:
    from bench.__main__ import parser

    made, install, doctor = command.split(" && ")
    assert made == f"python3 -m venv {venv}" and install.startswith(f"{venv}/bin/pip ")
    assert extras(install) == [extra, "analysis"]
    words = shlex.split(doctor)
    assert words[:3] == [f"{venv}/bin/python", "-m", "bench"]
    assert parser(words[3:]).parse_args(words[3:]).run is True


def test_the_cuda_12_torch_line_is_doctors() -> None:
    """README, the GPU page and pyproject.toml give the very line `bench doctor` advises."""
    from bench.hardware.install_advice import TORCH_CU126

    for page in (README, REPO / "docs" / "frameworks.md", REPO / "pyproject.toml"):
        text = " ".join(page.read_text(encoding="utf-8").replace("#", " ").split())
        assert TORCH_CU126 in text, page


def test_devices() -> None:
    done = bench(DEVICES, Path.cwd())
    assert done.returncode == 0, done.stderr
    assert re.search(r"^cpu\s", done.stdout, re.MULTILINE), done.stdout


def slug(heading: str, seen: dict[str, int]) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, and
    `-1`, `-2`... for a repeated one."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().rstrip("#").strip())
    base = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return f"{base}-{count}" if count else base


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file (headings inside fenced blocks are not)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+)", line)):
            found.add(slug(match.group(1), seen))
    return found


def links(path: Path) -> list[str]:
    """The targets of every link and image outside code (fenced blocks and `spans`)."""
    text = re.sub(r"^\s*```.*?^\s*```", "", path.read_text("utf-8"), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    dead = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists() or (anchor and anchor not in anchors(resolved)):
            dead.append(target)
    assert not dead, f"{page.relative_to(REPO)}: dead links {dead}"


@pytest.mark.parametrize("table", list(TABLES))
def test_every_column_is_documented(table: str) -> None:
    text = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    missing = [c for c in columns(TABLES[table]) if f"`{c}`" not in text]
    assert not missing, f"{table}: columns not in docs/results.md: {missing}"


def test_every_flag_of_every_subcommand_is_documented() -> None:
    from bench.__main__ import parser, subparsers

    # every subcommand's flags (a command line builds only its own command's); report and
    # compare are built from the analysis package's own arguments
    parsers = subparsers(parser())
    cli = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    config = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    missing = [
        f"{name} {flag}"
        for name, p in parsers.items()
        for action in p._actions
        for flag in action.option_strings
        if flag not in ("-h", "--help")
        and not re.search(rf"`{re.escape(flag)}[` ]", config if name == "run" else cli)
    ]
    assert not missing, f"flags not in docs/cli.md (run: docs/config.md): {missing}"
