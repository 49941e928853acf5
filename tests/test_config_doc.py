"""Each setting declared once (issue 31): every key has a doc and bounds, `run --help` shows each
flag's default, docs/config.md is what the declarations generate, and a parameter walk of
`precision` meets only its declaration and its effects (the labels: tests/test_labels.py)."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from bench.cli import config_doc
from bench.core.rules import coerce, rules
from bench.core.settings import SECTIONS

DECLARED = [(s, k, r) for s, cls in SECTIONS.items() for k, r in rules(cls).items()]
SOURCE = sorted(p for pkg in ("bench", "analysis", "models") for p in (REPO / pkg).rglob("*.py"))


def _files(pattern: str) -> set[str]:
    """The source files whose code (comments left out) matches `pattern`."""
    found = re.compile(pattern)
    return {
        str(p.relative_to(REPO))
        for p in SOURCE
        if found.search(re.sub(r"#.*", "", p.read_text("utf-8")))
    }


@pytest.mark.parametrize("section, key, rule", DECLARED, ids=[f"{s}.{k}" for s, k, _ in DECLARED])
def test_every_key_has_a_doc_and_every_number_both_bounds(section, key, rule) -> None:
    assert rule.doc.strip() and "\n" not in rule.doc, f"[{section}] {key}: a one-line doc"
    if rule.kind.removesuffix("_list") in ("int", "float"):
        assert rule.minimum is not None and rule.maximum is not None, f"[{section}] {key}"
    if rule.default not in ((), ""):
        default = list(rule.default) if rule.kind.endswith("_list") else rule.default
        assert coerce(dict(rule.default) if rule.kind == "table" else default, rule) is not None


def test_docs_config_md_is_what_the_declarations_generate() -> None:
    committed = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == config_doc.text(), f"docs/config.md is stale: run {config_doc.COMMAND}"


def test_docs_list_every_key_and_every_run_flag() -> None:
    text = config_doc.text()
    for section, key, _ in DECLARED:
        assert f"### `[{section}]`" in text and f"| `{key}` |" in text
    flags = [o for a in config_doc.run_parser()._actions for o in a.option_strings]
    for flag in [*flags, "--dry-run", "--resume", "--json", "-q", "-v", "--set", "--config"]:
        assert f"`{flag}" in text, flag


# --- parameter walk: precision meets its declaration and its effects only -----------------------

#: Where precision has an effect: what each value means and where it runs (hardware.precision),
#: the runners that apply it, the precision in effect for MFU, and calibration's dtypes.
PRECISION_EFFECTS = {
    "bench/hardware/precision.py",
    "bench/runners/keras_precision.py",
    "bench/hardware/mfu.py",
    "bench/hardware/calibrate.py",
    "bench/hardware/peaks.py",
    "bench/runners/acceptance_child.py",  # doctor --run measures the fp32 and tf32 switches
}


def test_precision_choices_are_written_once() -> None:
    assert _files(r"fp32\W+tf32\W+bf16\W+fp16") == {"bench/hardware/precision.py"}
    assert _files(r"\bPRECISIONS\b") - {"bench/hardware/precision.py"} == {
        "bench/core/settings.py",  # the declaration
        "bench/hardware/calibrate.py",  # calibration's dtypes: one per precision
        "bench/hardware/peaks.py",
    }
    assert _files(r"\bAUTOTUNES\b") == {"bench/hardware/precision.py", "bench/core/settings.py"}


def test_the_precision_default_and_its_label_live_in_the_declaration() -> None:
    assert _files(r"[\"']fp32[\"']") <= PRECISION_EFFECTS | {"bench/core/settings.py"}
    compared = _files(r"[!=]= *[\"']fp32[\"']")  # "shown only when not fp32" and the like
    assert compared <= PRECISION_EFFECTS, compared - PRECISION_EFFECTS
    for module in ("plan", "summary"):
        assert (
            "from bench.core.labels import"
            in (REPO / "bench" / "core" / f"{module}.py").read_text()
        )
