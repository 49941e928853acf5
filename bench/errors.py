"""The one error type a user sees: a clear, one-paragraph message and exit code 2.

Anything the user can fix (a bad bench.toml key, an unknown model, an unwritable output folder)
is raised as `UsageError`; the CLI prints its message without a traceback and exits 2.
`close_match` finds what a mistyped name most likely meant, for the message's "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable


class UsageError(Exception):
    """A problem with the user's input: config file, CLI flag, or output location."""

    exit_code = 2


def close_match(word: str, choices: Iterable[str]) -> str | None:
    """The one of `choices` closest to a mistyped `word` (difflib, ratio ≥ 0.6), or None: what a
    "did you mean …?" offers."""
    import difflib  # only when a message needs it: `bench --help` stays quick

    found = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return found[0] if found else None
