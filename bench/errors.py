"""The one error type a user sees: a clear, one-paragraph message and exit code 2.

Anything the user can fix (a bad bench.toml key, an unknown model, an unwritable output folder)
is raised as `UsageError`; the CLI prints its message without a traceback and exits 2.
"""


class UsageError(Exception):
    """A problem with the user's input: config file, CLI flag, or output location."""

    exit_code = 2
