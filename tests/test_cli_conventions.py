"""The command-line conventions a newcomer expects: `--version`, help by default and with defaults,
no silent flag abbreviation, one meaning per flag name (old spellings warn), `--set` and the
dimension flags, and the config source printed before the plan."""

from __future__ import annotations

import re
from pathlib import Path

from test_cli import assert_usage_error, bench, plan_of

from bench.core.rules import default_text, rules
from bench.core.settings import SECTIONS

DECLARED = [(s, k, r) for s, cls in SECTIONS.items() for k, r in rules(cls).items()]
FAKE = ["--frameworks", "fake", "--models", "seed_cnn", "--devices", "cpu"]


def trial_lines(stdout: str) -> list[str]:
    return [line for line in plan_of(stdout).splitlines() if re.match(r"\s+\d{3}-", line)]


def test_version_names_bench_its_commit_and_frameworks(tmp_path: Path) -> None:
    done = bench("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.match(r"bench \d+\.\d+\.\d+", done.stdout)
    assert "frameworks: " in done.stdout and "numpy" in done.stdout


def test_bare_bench_prints_help(tmp_path: Path) -> None:
    done = bench(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: bench ") and "doctor" in done.stdout


def test_flags_are_never_abbreviated(tmp_path: Path) -> None:
    done = bench("run", "--dry-run", "--mode", "compile", cwd=tmp_path)
    assert done.returncode == 2
    assert "unrecognized arguments: --mode compile" in done.stderr
    assert "unknown model" not in done.stderr


def test_help_shows_defaults(tmp_path: Path) -> None:
    done = bench("selfcheck", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "(default: 3200)" in done.stdout and "(default: seed_cnn)" in done.stdout


def test_run_help_shows_each_setting_flags_default_and_allowed_values(tmp_path: Path) -> None:
    done = bench("run", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = re.sub(r"\s+", " ", done.stdout.split("options:", 1)[1])
    flagged = [(s, k, r) for s, k, r in DECLARED if r.flag]
    starts = [text.index(f" {r.flag} ") for _, _, r in flagged] + [text.index(" --model-file ")]
    for (section, key, rule), start, end in zip(flagged, starts[:-1], starts[1:], strict=True):
        entry = text[start:end]
        assert f"[{section}] {key}" in entry, entry
        assert f"(default: {default_text(rule, flag=True)})" in entry, entry
        assert all(choice in entry for choice in rule.choices), entry


def test_a_value_out_of_bounds_names_flag_key_value_and_bounds(tmp_path: Path) -> None:
    done = bench("run", "--dry-run", "--repeats", "1001", cwd=tmp_path)
    assert_usage_error(done, "--repeats", "[sweep] repeats = 1001", "≥ 1 and ≤ 1000")
    done = bench("run", "--dry-run", "--set", "data.val_fraction=1", cwd=tmp_path)
    assert_usage_error(done, "--set data.val_fraction", "val_fraction = 1.0", "≥ 0 and < 1")


def test_set_overrides_any_key(tmp_path: Path) -> None:
    done = bench(
        "run", "--dry-run", *FAKE, "--set", "sweep.repeats=3", "--set", "sweep.batch_sizes=8,16",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = trial_lines(done.stdout)
    assert len(lines) == 3 * 2
    assert sum(", b8," in line for line in lines) == 3


def test_set_with_a_bad_key_or_value_names_it(tmp_path: Path) -> None:
    bad_key = bench("run", "--dry-run", "--set", "sweep.repeat=3", cwd=tmp_path)
    assert_usage_error(bad_key, "sweep.repeat=3", "[sweep]", "'repeat'", "repeats")
    bad_value = bench("run", "--dry-run", "--set", "train.epochs=one", cwd=tmp_path)
    assert_usage_error(bad_value, "--set train.epochs", "epochs", "'one'")


def test_dimension_flags_plan_every_mode(tmp_path: Path) -> None:
    done = bench(
        "run", "--dry-run", "--frameworks", "torch,keras", "--models", "seed_cnn",
        "--devices", "cpu", "--threads", "1", "--torch-modes", "eager,compile",
        "--keras-modes", "eager,xla", "--caches", "cold,warm", "--repeats", "1", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    modes = {line.split()[1].rsplit("/", 1)[1] for line in trial_lines(done.stdout)}
    assert modes == {"eager", "compile", "xla"}
    assert len(trial_lines(done.stdout)) == (2 + 2) * 2


def test_flag_overrides_keep_the_files_model_options(tmp_path: Path) -> None:
    config = tmp_path / "opts.toml"
    config.write_text(
        '[sweep]\nmodels = ["vgg16"]\nrepeats = 1\n[options.vgg16]\nfrozen = [true, false]\n'
    )
    done = bench("run", "--dry-run", "--config", str(config), *FAKE[:2], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ids = [line.split(":")[0] for line in trial_lines(done.stdout)]
    assert [i.split("-", 3)[3].split("-cpu")[0] for i in ids] == [
        "vgg16.frozen-True",
        "vgg16.frozen-False",
    ]
    assert not any("[" in i or "]" in i for i in ids)


def test_run_says_which_config_it_used(tmp_path: Path) -> None:
    done = bench("run", "--dry-run", *FAKE, cwd=tmp_path)
    assert done.stdout.startswith("config: built-in defaults (no ./bench.toml) + command line")
    assert f"output: {tmp_path / 'results'}" in done.stdout
    (tmp_path / "bench.toml").write_text("[train]\nepochs = 3\n")
    done = bench("run", "--dry-run", cwd=tmp_path)
    assert done.stdout.startswith("config: bench.toml\n")


def test_old_flag_spellings_warn_and_still_work(tmp_path: Path) -> None:
    done = bench("selfcheck", "--frameworks", "fake", "--model", "no_such_model", cwd=tmp_path)
    warning, error = done.stderr.strip().split("\n")
    assert warning == "bench: warning: --model is deprecated and will be removed; use --models"
    assert done.returncode == 2 and error.startswith("bench: error:") and "no_such_model" in error


def test_quiet_run_prints_no_table(tmp_path: Path) -> None:
    done = bench("run", *FAKE, "--epochs", "2", "--no-report", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "bench summary" not in done.stdout and "results: " in done.stdout
    assert "config:" not in done.stdout


def test_models_lists_each_models_options_with_the_default_first(tmp_path: Path) -> None:
    done = bench("models", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    vgg = next(line for line in done.stdout.splitlines() if line.startswith("vgg16 "))
    assert vgg.endswith("classifier=auto|fc4096|fc512, frozen=False|True")
    assert_usage_error(bench("models", "--format", "csv", cwd=tmp_path), "--verify")
