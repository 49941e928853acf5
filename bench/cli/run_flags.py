"""`bench run`'s flags: one per declared setting that names a flag (`Rule.flag`), with its help
generated from the declaration (section and key, allowed values, default), and the run's own
flags (`--config`, `--set`, `--dry-run`, `--resume`, ...).

`bench/__main__.py` adds them to the `run` parser, `bench.cli.run` turns them into config
overrides, and docs/config.md lists them (`bench.cli.config_doc`). Imported when any command
line is parsed, so it imports only the standard library and the declarations.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from bench.cli.flags import describe, many
from bench.core.rules import Rule, allowed_text, default_text, rules
from bench.core.settings import SECTIONS

#: the config `bench run` reads when no --config is given and this file exists
DEFAULT_CONFIG = Path("bench.toml")

#: `--model-file` overrides `[models] files`, a key of the users' models section (`models.user`),
#: not a declared setting; it may also be given more than once.
MODEL_FILE = ("model_file", "models", "files", "str_list")
REPEATABLE = ("model_file",)


@functools.cache
def overrides() -> dict[str, tuple[str, str, str]]:
    """argparse dest → (section, key, kind) of every flag that overrides a bench.toml key."""
    found = {
        rule.flag.removeprefix("--").replace("-", "_"): (section, key, rule.kind)
        for section, cls in SECTIONS.items()
        for key, rule in rules(cls).items()
        if rule.flag
    }
    dest, *target = MODEL_FILE
    return found | {dest: tuple(target)}


def setting_help(section: str, key: str, rule: Rule) -> str:
    """'[sweep] caches: cold, warm (default: cold)': the key, its allowed values, its default."""
    allowed = allowed_text(rule)
    text = f"[{section}] {key}" + (f": {allowed}" if allowed else "")
    return f"{text} (default: {default_text(rule, flag=True)})".replace("%", "%%")


#: Flags whose value is a folder, not a word (placeholders: `bench.cli.flags.METAVARS`).
FOLDERS = ("--out",)


def _metavar(rule: Rule) -> str:
    """The flag's placeholder: N, X, NAME or DIR; a list as N[,N...] or NAME[,NAME...]."""
    noun = (
        "DIR"
        if rule.flag in FOLDERS
        else {"int": "N", "float": "X"}.get(rule.kind.removesuffix("_list"), "NAME")
    )
    return many(noun) if rule.kind.endswith("_list") else noun


def add_setting_flags(run: argparse.ArgumentParser) -> None:
    """A flag per declared setting that has one, in declaration order."""
    for section, cls in SECTIONS.items():
        for key, rule in rules(cls).items():
            if rule.flag:
                run.add_argument(
                    rule.flag, metavar=_metavar(rule), help=setting_help(section, key, rule)
                )
    run.add_argument(
        "--model-file",
        action="append",
        metavar=many("PATH"),
        help="[models] files: spec files of your models, repeatable (default: the config's)",
    )


EXAMPLES = (
    ("bench run --dry-run", "print the planned trials of ./bench.toml and exit"),
    (
        "bench run --frameworks torch --models seed_cnn --devices cpu --out /tmp/r",
        "one framework, one model, the CPU",
    ),
    ("bench run --batch-sizes 32,64 --set train.optimizer=adam", "lists are comma-separated"),
    ("bench run --resume results/20260101-120000-host", "finish an interrupted run"),
)


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """Every flag of `bench run`, its description and examples."""
    describe(
        run,
        "Run the sweep: ./bench.toml (or --config), else the built-in defaults, with these flags "
        "on top. Each trial runs in a fresh process; the results go to a new folder under --out, "
        "with a summary table and a report at the end. Each setting flag overrides its bench.toml "
        "key and is checked like it (docs/config.md lists them).",
        EXAMPLES,
    )
    run.add_argument(
        "--config", type=Path, metavar="PATH", help="config file (default: ./bench.toml if present)"
    )
    add_setting_flags(run)
    run.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help=f"override any key of [{'], ['.join(SECTIONS)}], e.g. --set train.optimizer=adam "
        "or --set sweep.batch_sizes=32,64; lists comma-separated (repeatable)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the per-configuration summary as JSON on stdout (progress on stderr)",
    )
    loud = run.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="count", default=0, help="only failures and results")
    loud.add_argument(
        "-v", "--verbose", action="count", default=0, help="also each phase and epoch as it ends"
    )
    run.add_argument("--dry-run", action="store_true", help="print the planned trials and exit")
    run.add_argument(
        "--no-report", action="store_true", help="do not write report.md/.html at the end"
    )
    run.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="finish an interrupted run: run its missing and interrupted trials, same config",
    )
    run.add_argument(
        "--detach",
        action="store_true",
        help="--launcher slurm: submit the jobs and exit (bench status / --resume later)",
    )
