"""The command line's conventions, defined once: help that shows defaults, deprecated spellings
that still work for one release (with a warning), `--version`, and `--set section.key=value`.

Imported by `bench/__main__.py` before any subcommand runs, so it imports only the standard
library (and the config rules lazily, when `--set` is used).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.errors import UsageError


class Help(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where there is none to show (None, False, [])."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or default in (None, False, [], argparse.SUPPRESS):
            return text
        if isinstance(default, list | tuple):
            default = ",".join(map(str, default))
        return f"{text} (default: {default})"


def parser_options() -> dict[str, Any]:
    """What every parser and subparser of `bench` is built with."""
    return {"allow_abbrev": False, "formatter_class": Help}


class Deprecated(argparse.Action):
    """An old spelling of a flag: stores into the new flag's dest and says what to use instead."""

    def __init__(self, option_strings: list[str], dest: str, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        print(
            f"bench: warning: {option_string} is deprecated and will be removed; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def deprecate(parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kw: Any) -> None:
    """Accept `old` as a deprecated spelling of `new` (same `dest`)."""
    parser.add_argument(old, dest=dest, action=Deprecated, new=new, **kw)


def version_text() -> str:
    """`bench --version`: bench's version, the git commit, the frameworks installed."""
    from importlib import metadata

    from bench import PROJECT_ROOT
    from bench.hardware.fingerprint import git_commit

    try:
        version = metadata.version("bench")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    commit = git_commit(PROJECT_ROOT)
    found, absent = [], []
    for package in ("torch", "tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "numpy"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            absent.append(package)
    lines = [f"bench {version}" + (f" (git {commit[:12]})" if commit else "")]
    lines.append("frameworks: " + (", ".join(found) or "none"))
    if absent:
        lines.append("not installed: " + ", ".join(absent))
    return "\n".join(lines)


class Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print versions and exit")

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        print(version_text())
        parser.exit(0)


def set_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """`--set section.key=value[,value...]` (repeatable) → config overrides by section.

    Values are typed by the key's rule (an integer list splits on commas into integers, a bool
    reads true/false); the config then validates them exactly like bench.toml values.
    """
    from bench.core.rules import rules
    from bench.core.settings import SECTIONS

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, text = item.partition("=")
        section, dot, key = target.strip().partition(".")
        if not sep or not dot:
            raise UsageError(f"--set {item!r}: expected section.key=value, e.g. sweep.repeats=4.")
        if section not in SECTIONS:
            raise UsageError(
                f"--set {item!r}: unknown section [{section}]; valid: {', '.join(SECTIONS)}."
            )
        fields = rules(SECTIONS[section])
        if key not in fields:
            raise UsageError(
                f"--set {item!r}: unknown key [{section}] {key!r}; valid keys in [{section}]: "
                f"{', '.join(fields)}."
            )
        out.setdefault(section, {})[key] = typed(text.strip(), fields[key].kind)
    return out


def typed(text: str, kind: str) -> Any:
    """A --set value as its TOML counterpart; text that does not parse is left for the config's
    own check to reject with the key's rule."""
    base = kind.removesuffix("_list")
    items = [t.strip() for t in text.split(",")] if kind.endswith("_list") else [text]
    values = [_scalar(t, base) for t in items if t or not kind.endswith("_list")]
    return values if kind.endswith("_list") else values[0]


def _scalar(text: str, base: str) -> Any:
    try:
        if base == "int":
            return int(text)
        if base == "float":
            return float(text)
    except ValueError:
        return text
    if base == "bool":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text
