"""The one name rule, for everything that becomes a path, an id, a job name or a label.

Model names (the zoo's, a spec file's, a bench.toml table's), a model option's values, run names
(`--name`), Slurm partitions, image-folder class names and the trial ids built from them all
follow `NAME`: 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit — so no
`/`, no `..`, no shell or mathtext character, no newline, nothing a file system or `sbatch`
reads specially. A trial id joins checked names with `-`, `.`, `,` and `=` and stays below a
file name's length limit with room for the suffixes the harness adds (`TRIAL_ID`).

`within` is the second fence: a path built from names is resolved and must stay under the
folder it was built in. Both raise `ValueError` with the reason; callers add the file, key or
flag and turn it into the user's one-paragraph error.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

NAME_MAX = 64
NAME = rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}"
NAME_WORDS = f"1 to {NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or digit"
#: a trial id: checked names and numbers joined by - . , = (model options are `key=value`;
#: a number may read 1e+20)
TRIAL_ID_MAX = 200
TRIAL_ID = rf"[A-Za-z0-9][A-Za-z0-9_.,=+-]{{0,{TRIAL_ID_MAX - 1}}}"
_NAME = re.compile(NAME)
_OPTION_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def name_problem(value: object) -> str:
    """Why `value` is not a name ("" when it is one)."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if _NAME.fullmatch(value):
        return ""
    if len(value) > NAME_MAX:
        return f"{len(value)} characters; a name has at most {NAME_MAX}"
    return f"expected {NAME_WORDS}"


def check_name(what: str, value: object) -> str:
    """`value` if it is a name; else `ValueError` naming `what` and the rule."""
    if problem := name_problem(value):
        raise ValueError(f"{what} {value!r} is not a valid name: {problem}")
    return value  # type: ignore[return-value]


def check_option(what: str, key: object, value: object) -> None:
    """A model option: an identifier key and a value that is a number, true/false or a name
    (it becomes part of trial ids and labels)."""
    if not isinstance(key, str) or not _OPTION_KEY.fullmatch(key):
        raise ValueError(f"{what}: option name {key!r} must be a Python identifier (≤ 64)")
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return
    if isinstance(value, str) and not name_problem(value):
        return
    raise ValueError(
        f"{what}: option {key}={value!r} is not allowed: a value is a number, true/false, or "
        f"{NAME_WORDS}"
    )


def check_trial_id(trial_id: str) -> str:
    """A trial id fit for a file name (it names log, part and job files)."""
    if not re.fullmatch(TRIAL_ID, trial_id):
        raise ValueError(
            f"trial id {trial_id!r} is not a file name the harness can use (at most "
            f"{TRIAL_ID_MAX} characters of letters, digits and _ . , = + -)"
        )
    return trial_id


def within(root: Path, path: Path) -> Path:
    """`path`, resolved, if it lies inside `root` (resolved); else `ValueError`."""
    base, target = Path(root).resolve(), Path(path).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"{path} would lie outside {base}")
    return target
