"""`python -m bench models --verify [NAME...]`: prove each model is the same network in every
installed framework.

The parent plans the cases (each model with its default options and each non-default option
value) and hands them to one child process (`python -m bench.cli.verify CASES.json OUT.json`),
which builds every case in torch and keras with `models.verify.check`: parameter counts against
the analytic count, output shapes, FlopCounterMode's conv/dense FLOPs against the analytic ones
(1 %), and forward outputs with the torch weights copied into the keras model (relative
tolerance 1e-4); and, for the models the numpy runner implements, the NumPy network's counts,
output shape and forward output against torch's from the same seed (`verify_numpy`). Large
models are checked at a reduced input size unless `--full-size`. Users' models (the [models]
section: spec files, layer lists) are checked like the zoo's; a native model, which has no spec,
gets what `models.native_check` can prove.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.errors import UsageError

COLUMNS = (
    "model",
    "definition",
    "options",
    "input_shape",
    "classes",
    "params_analytic",
    "params_torch",
    "params_keras",
    "params_numpy",
    "output_shape_torch",
    "output_shape_keras",
    "output_shape_numpy",
    "flops_analytic",
    "flops_counted",
    "rel_output_diff",
    "rel_output_diff_numpy",
    "initial_identical",
    "ok",
    "problems",
)


def plan_cases(names: list[str], full_size: bool) -> list[dict[str, Any]]:
    """One case per model and option variant; a native model (no spec) at its own size."""
    from models import verify, zoo

    unknown = [n for n in names if n not in zoo.names()]
    if unknown:
        raise UsageError(
            f"models --verify: unknown model(s) {', '.join(unknown)}; "
            f"choose from: {', '.join(zoo.names())}."
        )
    cases = []
    for name in names or zoo.names():
        info = zoo.info(name)
        if info.native is not None:
            case = {"name": name, "options": {}, "shape": list(info.input_shape)}
            refs = {"torch": info.native.torch, "keras": info.native.keras}
            cases.append(case | {"classes": info.classes, "native": refs})
            continue
        shape = info.input_shape if full_size else verify.reduced_input_shape(name)
        cases += [{"name": name, "options": o, "shape": list(shape)} for o in verify.variants(name)]
    return cases


def _fmt(pair: Any) -> str:
    return "" if pair is None else "/".join(f"{v:,}" for v in pair)


def _diff(value: float | None, skip: str) -> str:
    """A relative difference as shown; `n/a` where `skip` says why there is none (the numpy
    runner lacks a layer; a native model has no weight layout shared between frameworks)."""
    return ("n/a" if skip else "") if value is None else f"{value:.1e}"


def _row(case: dict[str, Any], check: dict[str, Any]) -> dict[str, str]:
    counts, shapes = check["counts"], check["output_shapes"]
    return {
        "model": case["name"],
        "definition": "native" if "native" in case else "spec",
        "options": ",".join(f"{k}={v}" for k, v in case["options"].items()),
        "input_shape": "x".join(map(str, check["input_shape"])),
        "classes": str(check["classes"]),
        "params_analytic": _fmt(check["analytic"]),
        "params_torch": _fmt(counts.get("torch")),
        "params_keras": _fmt(counts.get("keras")),
        "params_numpy": _fmt(counts.get("numpy")),
        "output_shape_torch": "x".join(map(str, shapes.get("torch", []))),
        "output_shape_keras": "x".join(map(str, shapes.get("keras", []))),
        "output_shape_numpy": "x".join(map(str, shapes.get("numpy", []))),
        "flops_analytic": "" if check["matmul_flops"] is None else f"{check['matmul_flops']:,}",
        "flops_counted": "" if check["counted_flops"] is None else f"{check['counted_flops']:,}",
        "rel_output_diff": _diff(check["rel_diff"], check.get("note", "")),
        "rel_output_diff_numpy": _diff(check.get("rel_diff_numpy"), check.get("numpy_skip", "")),
        "initial_identical": {None: "", True: "yes", False: "NO"}[check["initial_identical"]],
        "ok": "ok" if not check["problems"] else "MISMATCH",
        "problems": "; ".join(check["problems"]),
    }


def render(rows: list[dict[str, str]], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    shown = (
        "model",
        "options",
        "input_shape",
        "params_analytic",
        "params_torch",
        "params_keras",
        "output_shape_torch",
        "flops_counted",
        "rel_output_diff",
        "rel_output_diff_numpy",
        "initial_identical",
        "ok",
    )
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in shown}
    lines = ["  ".join(c.ljust(widths[c]) for c in shown)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in shown) for r in rows]
    lines += [f"{r['model']}: {r['problems']}" for r in rows if r["problems"]]
    return "\n".join(lines)


def notes(cases: list[dict[str, Any]], checks: list[dict[str, Any]]) -> list[str]:
    """The table's footnotes: what a native model's row cannot show (`native_check.note`)."""
    return [
        f"{case['name']}: {check['note']}."
        for case, check in zip(cases, checks, strict=True)
        if "native" in case and check.get("note")
    ]


def verify(names: list[str], full_size: bool, fmt: str, user_models: dict | None = None) -> int:
    """Run the checks in a child process (which loads `user_models`, the [models] section, as
    the parent did); print the table; 1 if anything differs."""
    cases = plan_cases(names, full_size)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        cases_path, out_path = Path(tmp) / "cases.json", Path(tmp) / "out.json"
        cases_path.write_text(json.dumps({"user_models": user_models or {}, "cases": cases}))
        proc = subprocess.run(
            [sys.executable, "-m", "bench.cli.verify", str(cases_path), str(out_path)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not out_path.exists():
            tail = " | ".join(proc.stderr.strip().splitlines()[-5:])
            print(f"bench: models --verify: the checking process failed: {tail}", file=sys.stderr)
            return 1
        checks = json.loads(out_path.read_text())
    rows = [_row(c, k) for c, k in zip(cases, checks, strict=True)]
    print(render(rows, fmt))
    if fmt == "table" and (footnotes := notes(cases, checks)):
        print("\n".join(footnotes))
    return 0 if all(r["ok"] == "ok" for r in rows) else 1


def _child(cases_path: str, out_path: str) -> None:
    from bench.cli.verify_numpy import numpy_check
    from models import native_check, user, verify, zoo
    from models.native import NativeRef

    plan = json.loads(Path(cases_path).read_text())
    user.install(plan["user_models"])
    checks = []
    for case in plan["cases"]:
        if "native" in case:
            ref = NativeRef(**case["native"])
            checks.append(native_check.check(case["name"], ref, case["shape"], case["classes"]))
            continue
        spec = zoo.get(case["name"], tuple(case["shape"]), **case["options"])
        check = asdict(verify.check(spec))
        numpy_check(spec, check)
        checks.append(check)
    Path(out_path).write_text(json.dumps(checks))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
