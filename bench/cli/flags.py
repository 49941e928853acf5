"""The command line's conventions, defined once: one parser class for every subcommand (help that
shows defaults and examples, "did you mean" for a mistyped command, flag or choice, and the
subcommand's own usage for a flag it does not know), one placeholder style, deprecated spellings
that still work for one release (with a warning), `--version`, and `--set section.key=value`.

Imported by `bench/__main__.py` before any subcommand runs, so it imports only the standard
library that argparse already loads (the config rules lazily, when `--set` is used; `typing` not
at all: `bench --help` must stay quick).

Placeholders (`METAVARS`): the value's type in capitals — `N` an integer, `X` a number, `NAME` a
word from a set (a framework, model, device, choice), `PATH` a file, `DIR` a folder, `RUN_DIR` a
run folder —, a comma-separated list as `N[,N...]`, and `SECTION.KEY=VALUE` for `--set`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence

from bench.errors import UsageError, close_match

NOUNS = ("N", "X", "NAME", "PATH", "DIR", "RUN_DIR")


def many(noun: str) -> str:
    """The placeholder of a comma-separated list: `NAME[,NAME...]`."""
    return f"{noun}[,{noun}...]"


METAVARS = frozenset([*NOUNS, *(many(n) for n in ("N", "X", "NAME", "PATH")), "SECTION.KEY=VALUE"])


class Help(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where there is none to show (None, False, []); wraps
    each line of a description or epilog to the terminal, except indented ones (examples)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap  # loaded by argparse already

        return "\n".join(
            indent + line
            if line.startswith(" ") or len(line) <= width
            else textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            for line in text.splitlines()
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or default in (None, False, [], argparse.SUPPRESS):
            return text
        if isinstance(default, list | tuple):
            default = ",".join(map(str, default))
        return f"{text} (default: {default})"


class Parser(argparse.ArgumentParser):
    """An argparse parser that helps a mistyped command line: "did you mean run?" for a command
    or a choice, "did you mean --models?" (under the subcommand's own usage) for a flag."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            guess = close_match(str(value), action.choices or ())
            if guess is None:
                raise
            raise argparse.ArgumentError(action, f"{exc.message}; did you mean {guess}?") from None

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            own = self._chosen(parsed) or self
            own.error(f"unrecognized arguments: {' '.join(extras)}" + own.guesses(extras))
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> Parser | None:
        """The subcommand's parser that `parsed` went through, if any."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None))
                return chosen if isinstance(chosen, Parser) else None
        return None

    def guesses(self, extras: Iterable[str]) -> str:
        """'; did you mean --models?' for the unknown flags among `extras` that are close to one
        of this parser's (deprecated spellings left out)."""
        flags = [
            option
            for action in self._actions
            if action.help != argparse.SUPPRESS
            for option in action.option_strings
        ]
        pairs = [
            (flag, guess)
            for word in extras
            if (flag := word.split("=", 1)[0]).startswith("-")
            and (guess := close_match(flag, flags))
        ]
        if not pairs:
            return ""
        if len(pairs) == 1:
            return f"; did you mean {pairs[0][1]}?"
        return "; did you mean " + ", ".join(f"{g} for {f}" for f, g in pairs) + "?"


def parser_options() -> dict[str, object]:
    """What every parser and subparser of `bench` is built with."""
    return {"allow_abbrev": False, "formatter_class": Help}


def describe(
    parser: argparse.ArgumentParser, description: str, examples: Iterable[tuple[str, str]]
) -> None:
    """Give a subcommand's `--help` its description and an "examples:" epilog, one
    `command  # what it does` line each."""
    rows = list(examples)
    width = max(len(command) for command, _ in rows)
    parser.description = description
    parser.epilog = "examples:\n" + "\n".join(
        f"  {command.ljust(width)}  # {what}" for command, what in rows
    )


def choose(
    text: str,
    choices: tuple[str, ...],
    flag: str,
    noun: str = "framework",
    hints: Mapping[str, str] | None = None,
) -> list[str]:
    """A comma-separated list of `choices` (`doctor`, `calibrate`); otherwise a usage error
    naming the flag and what was most likely meant: the hint for a known mistake (`hints`: a
    Keras backend given as a framework), else the closest choice."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    for value in values or [""]:
        if value in choices:
            continue
        hint = (hints or {}).get(value.lower(), "")
        if not hint and (guess := close_match(value, choices)):
            hint = f"Did you mean {guess!r}?"
        raise UsageError(
            f'{flag}: unknown {noun} "{value}"; choose from: {", ".join(choices)}. {hint}'.rstrip()
        )
    return values


class Deprecated(argparse.Action):
    """An old spelling of a flag: stores into the new flag's dest and says what to use instead."""

    def __init__(self, option_strings: list[str], dest: str, new: str, **kwargs: object) -> None:
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: object, namespace: object, values: object, option_string: object = None
    ) -> None:
        print(
            f"bench: warning: {option_string} is deprecated and will be removed; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def deprecate(parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kw: object) -> None:
    """Accept `old` as a deprecated spelling of `new` (same `dest`)."""
    parser.add_argument(old, dest=dest, action=Deprecated, new=new, **kw)


#: Each framework `--version` names, and the distributions that install it: TensorFlow comes as
#: `tensorflow`, `tensorflow-cpu` (what `pip install -e '.[keras]'` installs), `tensorflow-macos`…
PACKAGES = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
    "keras": ("keras",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "numpy": ("numpy",),
}


def installed(module: str, distributions: tuple[str, ...]) -> str | None:
    """'2.21.0 (tensorflow-cpu)': the version of whichever distribution installs `module`
    (named where it is not the module's own name); 'unknown version' when the module imports
    from no known distribution; None when it is not importable at all."""
    import importlib.util
    from importlib import metadata

    for name in distributions:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        return version if name == module else f"{version} ({name})"
    return "unknown version" if importlib.util.find_spec(module) is not None else None


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
    for module, distributions in PACKAGES.items():
        if (text := installed(module, distributions)) is None:
            absent.append(module)
        else:
            found.append(f"{module} {text}")
    lines = [f"bench {version}" + (f" (git {commit[:12]})" if commit else "")]
    lines.append("frameworks: " + (", ".join(found) or "none"))
    if absent:
        lines.append("not installed: " + ", ".join(absent))
    return "\n".join(lines)


class Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print versions and exit")

    def __call__(
        self, parser: object, namespace: object, values: object, option_string: object = None
    ) -> None:
        print(version_text())
        parser.exit(0)


def set_overrides(items: list[str]) -> dict[str, dict[str, object]]:
    """`--set section.key=value[,value...]` (repeatable) → config overrides by section.

    Values are typed by the key's rule (an integer list splits on commas into integers, a bool
    reads true/false); the config then validates them exactly like bench.toml values.
    """
    from bench.core.rules import rules
    from bench.core.settings import SECTIONS

    out: dict[str, dict[str, object]] = {}
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


def typed(text: str, kind: str) -> object:
    """A --set value as its TOML counterpart; text that does not parse is left for the config's
    own check to reject with the key's rule."""
    base = kind.removesuffix("_list")
    items = [t.strip() for t in text.split(",")] if kind.endswith("_list") else [text]
    values = [_scalar(t, base) for t in items if t or not kind.endswith("_list")]
    return values if kind.endswith("_list") else values[0]


def _scalar(text: str, base: str) -> object:
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
