"""Help and typos for a new user (issue 32): every subcommand's `--help` has a description, two
examples or more, each default and one placeholder style (`bench.cli.flags.METAVARS`); a flag
name takes the same placeholder everywhere; a mistyped command, flag, model or framework gets a
"did you mean" (a flag under its own subcommand's usage), exit 2, one paragraph, no traceback.
"""

from __future__ import annotations

import argparse

import pytest
from test_cli import assert_usage_error, bench

from bench.__main__ import COMMANDS, main, parser, subparsers
from bench.cli.flags import METAVARS, installed

PARSERS = subparsers(parser())


def options(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments `--help` shows (deprecated spellings and -h left out)."""
    return [
        a
        for a in sub._actions
        if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
    ]


def entry(sub: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An argument's own lines of the formatted help, whitespace collapsed."""
    formatter = sub._get_formatter()
    formatter.add_argument(action)
    return " ".join(formatter.format_help().split())


def test_every_command_is_walked() -> None:
    assert set(PARSERS) == set(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_has_a_description_examples_defaults_and_one_placeholder_style(name: str) -> None:
    sub = PARSERS[name]
    assert sub.description and len(sub.description) > 40, name
    assert sub.epilog and sub.epilog.startswith("examples:\n"), name
    examples = [line for line in sub.epilog.splitlines()[1:] if f" bench {name}" in line]
    assert len(examples) >= 2, sub.epilog
    for action in options(sub):
        text = entry(sub, action)
        if action.nargs != 0:
            assert action.metavar in METAVARS, (name, action.dest, action.metavar)
        if action.default not in (None, False, [], argparse.SUPPRESS, 0):
            shown = action.default
            shown = ",".join(map(str, shown)) if isinstance(shown, list | tuple) else shown
            assert f"(default: {shown})" in text, (name, text)
    sub.format_help()  # formats without error ("%" in a help text would not)


def test_a_flag_name_takes_the_same_placeholder_in_every_command() -> None:
    seen: dict[str, set[str]] = {}
    for sub in PARSERS.values():
        for action in options(sub):
            for flag in action.option_strings:
                seen.setdefault(flag, set()).add(str(action.metavar))
    differ = {flag: metavars for flag, metavars in seen.items() if len(metavars) > 1}
    assert not differ
    assert seen["--threads"] == {"N[,N...]"}  # a list everywhere: run, calibrate, selfcheck


def test_run_help_shows_every_setting_default() -> None:
    for action in options(PARSERS["run"]):
        if action.help.startswith("["):  # a setting's flag: its declared default
            assert "(default: " in action.help, action.option_strings


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `bench ARGV` in this process: argparse's usage error, exit 2, its stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert "\n\n" not in err.strip(), err
    return err


def test_a_mistyped_command_gets_the_closest(capsys) -> None:
    err = usage_error(capsys, "rn")
    assert err.startswith("usage: bench [-h]")
    assert err.rstrip().endswith("; did you mean run?")
    assert "did you mean" not in usage_error(capsys, "frobnicate")


def test_a_mistyped_flag_gets_the_subcommands_usage_and_the_closest_flag(capsys) -> None:
    err = usage_error(capsys, "run", "--model", "seed_cnn")
    assert err.startswith("usage: bench run [-h]")
    assert (
        "bench run: error: unrecognized arguments: --model seed_cnn; did you mean --models?" in err
    )
    err = usage_error(capsys, "doctor", "--framework=torch", "--devise", "cpu")
    assert err.startswith("usage: bench doctor")
    assert "did you mean --frameworks for --framework, --devices for --devise?" in err


def test_a_mistyped_choice_gets_the_closest(capsys) -> None:
    err = usage_error(capsys, "models", "--format", "tabel")
    assert "invalid choice: 'tabel'" in err and "did you mean table?" in err


def test_a_mistyped_model_or_framework_gets_the_closest(tmp_path, capsys) -> None:
    assert main(["run", "--dry-run", "--models", "seed_cnnn", "--out", str(tmp_path)]) == 2
    assert (
        "unknown model 'seed_cnnn'; did you mean seed_cnn? Choose from:" in capsys.readouterr().err
    )
    assert main(["run", "--dry-run", "--frameworks", "pytorch", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.rstrip().endswith("Did you mean 'torch'?")
    assert main(["models", "seed_cnnn"]) == 2
    assert "did you mean seed_cnn?" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run --dry-run", "selfcheck", "doctor"])
def test_a_keras_backend_given_as_a_framework_names_the_flags(command, tmp_path) -> None:
    done = bench(*command.split(), "--frameworks", "tensorflow", cwd=tmp_path)
    assert_usage_error(
        done,
        "TensorFlow is a Keras backend, not a framework: use --frameworks keras "
        "--keras-backends tensorflow",
    )


def test_version_knows_tensorflow_cpu(monkeypatch) -> None:
    from importlib import metadata

    real = metadata.version

    def version(name: str) -> str:
        if name == "tensorflow":
            raise metadata.PackageNotFoundError(name)
        return "2.21.0" if name == "tensorflow-cpu" else real(name)

    monkeypatch.setattr(metadata, "version", version)
    assert installed("tensorflow", ("tensorflow", "tensorflow-cpu")) == "2.21.0 (tensorflow-cpu)"
    assert installed("no_such_module", ("no-such-distribution",)) is None


def test_selfcheck_threads_is_a_list_as_in_run() -> None:
    from bench.cli.selfcheck import _trials

    args = argparse.Namespace(
        models="seed_cnn", batch_sizes="8", threads="1,2", epochs=2, samples=16
    )
    assert [t.threads for t in _trials(args, "fake")] == [1, 2]
