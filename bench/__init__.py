"""bench: epoch-timing benchmark harness (first epoch vs steady state, frameworks and devices).

The folder map is the architecture (docs/code-map.md): `cli` → `core` → `launchers` →
`trial` → `runners` → `data`, `hardware` → the top-level `models` package. This root holds only
what every room may use: `errors` (the one error type a user sees) and `PROJECT_ROOT`.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
