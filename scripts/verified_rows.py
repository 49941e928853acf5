"""Turn `bench doctor --run --json-out` records into rows of docs/verified-on.md's GPU table.

    python scripts/verified_rows.py RECORD.json [RECORD.json ...] [--doc docs/verified-on.md]

One row per GPU in each record: the GPU (name, compute capability), driver and CUDA, the
framework versions, the date, and which checks passed and which did not (a `warn` is listed as
not passed, marked so; skipped checks are left out). The rows live between the markers
`<!-- verified-rows:begin -->` and `<!-- verified-rows:end -->`; the file is rewritten in place:
a row for the same GPU, driver and versions is replaced by the newer one, the rest are kept,
sorted by GPU and date. `--print` writes the rows to stdout and leaves the file alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hardware.acceptance import problems  # noqa: E402

BEGIN, END = "<!-- verified-rows:begin -->", "<!-- verified-rows:end -->"
HEADER = (
    "| GPU | driver, CUDA | versions | date | passed | not passed |\n"
    "| --- | --- | --- | --- | --- | --- |"
)
PASSED = ("pass", "ok")
NOT_PASSED = ("fail", "warn")


class RowsError(Exception):
    """Bad input: a record that cannot be read, a document without the markers."""


def read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RowsError(f"cannot read {path}: {exc}") from None
    found = problems(data)
    if found:
        what = "a `bench doctor --run --json-out` record"
        raise RowsError(f"{path} is not {what}: {'; '.join(found)}")
    if not data["gpus"]:
        raise RowsError(
            f"{path} checked no GPU (a CPU-only machine, or --devices chose none): it has no "
            "row for the Verified on table"
        )
    return data


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(data: dict[str, Any]) -> list[list[str]]:
    """One row (its cells) per GPU of a record."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(data["versions"].items()))
    found = []
    for gpu in data["gpus"]:
        checks = [c for c in data["checks"] if c.get("device") == gpu["device"]]

        def named(check: dict[str, Any]) -> str:
            who = check.get("framework")
            return f"{who} {check['name']}" if who else check["name"]

        passed = [named(c) for c in checks if c["status"] in PASSED]
        failed = [named(c) + (" (warn)" if c["status"] == "warn" else "") for c in checks
                  if c["status"] in NOT_PASSED]  # fmt: skip
        capability = gpu.get("compute_capability")
        name = gpu["name"] + (f" (CC {capability})" if capability else "")
        driver = f"{gpu.get('driver') or '?'}, CUDA {gpu.get('cuda') or '?'}"
        cells = [name, driver, versions, data["date"][:10], ", ".join(passed) or "—"]
        found.append([_cell(c) for c in [*cells, ", ".join(failed) or "—"]])
    return found


def _split(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def merge(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
    """`old` rows with `new` ones replacing those of the same GPU, driver and versions."""
    kept = {tuple(r[:3]): r for r in old}
    for row in new:
        kept[tuple(row[:3])] = row
    return sorted(kept.values(), key=lambda r: (r[0], r[3]))


def update(text: str, new: list[list[str]]) -> str:
    """The document's text with its generated section holding the merged rows."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise RowsError(f"the document needs one {BEGIN} line followed by one {END} line")
    head, rest = text.split(BEGIN)
    body, tail = rest.split(END)
    old = [_split(line) for line in body.splitlines() if line.startswith("| ")]
    old = [r for r in old if len(r) == 6 and r[0] != "GPU"]
    table = "\n".join(f"| {' | '.join(r)} |" for r in merge(old, new))
    section = f"{HEADER}\n{table}\n" if table else "(no GPU row yet)\n"
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", type=Path, metavar="RECORD.json")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "verified-on.md")
    parser.add_argument("--print", action="store_true", help="print the rows; change nothing")
    args = parser.parse_args(argv)
    try:
        new = [row for path in args.records for row in rows(read_record(path))]
        if args.print:
            print("\n".join(f"| {' | '.join(r)} |" for r in new))
            return 0
        try:
            text = args.doc.read_text(encoding="utf-8")
        except OSError as exc:
            raise RowsError(f"cannot read {args.doc}: {exc}") from None
        args.doc.write_text(update(text, new), encoding="utf-8")
    except RowsError as exc:
        print(f"verified_rows: {exc}", file=sys.stderr)
        return 2
    print(f"verified_rows: {len(new)} row(s) in {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
