"""`python -m models.native_probe REF...`: can each native factory be imported?

The child a dry run starts (`bench.core.factories`) to catch a misspelt module or factory name
before a sweep: it imports each import string as a trial's child would (`native.load_factory`:
the module, then the factory by name, which must be callable) — the user's module may import
its framework, which is why this runs in a child and never in the harness parent — and prints
one JSON object, `{ref: ""}` for a factory that imports and `{ref: "<error>"}` otherwise. It
builds no model: `bench models --verify` does that.
"""

from __future__ import annotations

import json
import sys

from models import native


def probe(refs: list[str]) -> dict[str, str]:
    """Each import string → "" when its factory imports, else the error in one line."""
    found = {}
    for ref in refs:
        try:
            native.load_factory(ref)
            found[ref] = ""
        except BaseException as exc:  # the user's module: SystemExit and all are its answer
            found[ref] = " ".join(f"{type(exc).__name__}: {exc}".split())
    return found


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1:])))
