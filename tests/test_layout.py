"""The folder map is the architecture: every import goes down the rooms of docs/code-map.md.

Rooms, top to bottom: `bench.__main__` → `bench.cli` → `analysis` → `bench.core` →
`bench.launchers` → `bench.trial` → `bench.runners` → `bench.data` and `bench.hardware` →
`models` → `bench.contract` → the root (`bench`, `bench.errors`). A module may import its own
room and the rooms below it, lazily (inside a function), under `if TYPE_CHECKING:` or at the top:
every import counts. The contract every room shares (`bench.contract`: the `Trial`, the tables,
the clock a runner is handed, the headline figures) imports nothing of the project at all.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = [
    ("bench.__main__",),
    ("bench.cli",),
    ("analysis",),
    ("bench.core",),
    ("bench.launchers",),
    ("bench.trial",),
    ("bench.runners",),
    ("bench.data", "bench.hardware"),
    ("models",),
    ("bench.contract",),
    ("bench.errors", "bench"),
]
PACKAGES = ("bench", "analysis", "models")


def rank(module: str) -> int | None:
    """The room's depth (0 = top) of a project module; None for anything else."""
    for depth, prefixes in enumerate(ROOMS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return depth
    return None


@functools.cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module in `path` (type-only ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n if n in modules() else node.module) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in found if m.split(".")[0] in PACKAGES]


def test_imports_go_down_the_rooms() -> None:
    outside = [m for m in modules() if rank(m) is None]
    assert not outside, f"modules in no room of the code map: {outside}"
    upward = [
        f"{module} line {line}: {target}"
        for module, path in sorted(modules().items())
        for line, target in imports(path)
        if (theirs := rank(target)) is not None and theirs < rank(module)
    ]
    assert not upward, "imports of a room above the importer's own:\n" + "\n".join(upward)


def test_the_contract_imports_nothing_of_the_project() -> None:
    inside = [
        f"{module} line {line}: {target}"
        for module, path in sorted(modules().items())
        if rank(module) == rank("bench.contract")
        for line, target in imports(path)
        if not target.startswith("bench.contract")
    ]
    assert not inside, "the contract imports the project:\n" + "\n".join(inside)


def test_bench_root_holds_only_entry_points_and_errors() -> None:
    assert sorted(p.name for p in (ROOT / "bench").glob("*.py")) == [
        "__init__.py",
        "__main__.py",
        "errors.py",
    ]


def test_modules_are_short_and_say_what_they_hold() -> None:
    long, silent = [], []
    for path in modules().values():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 350:
            long.append(str(path.relative_to(ROOT)))
        if not ast.get_docstring(ast.parse(text)):
            silent.append(str(path.relative_to(ROOT)))
    assert not long, f"modules over 350 lines: {long}"
    assert not silent, f"modules without a docstring at the top: {silent}"


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or around a loop (lazy imports count)."""
    graph = {
        m: {t for _, t in imports(p) if t in modules() and t != m} for m, p in modules().items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
