"""A tiny document model — headings, paragraphs, lists, tables, code, images — rendered to
Markdown (images as files beside it) and to one self-contained HTML page (images inlined as
base64 PNG, styles inline, no external resource of any kind)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1200px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #eee; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
.scroll { overflow-x: auto; margin: .8em 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; vertical-align: top; }
th { background: #f3f4f6; text-align: left; }
td:first-child { min-width: 14em; }
td.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafafa; }
td.bad { color: #b00020; font-weight: 600; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; max-width: 900px; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: 12px; }
ul.warn li { margin: .25em 0; }
code { background: #f3f4f6; padding: 0 .25em; border-radius: 3px; font-size: 90%; }
"""
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
BAD = ("failed", "timeout", "oom", "interrupted", "skipped", "yes", "*")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Para:
    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    right: set[int] = field(default_factory=set)  # indices of right-aligned (numeric) columns


@dataclass(frozen=True, slots=True)
class Code:
    text: str
    summary: str = ""  # HTML: a collapsed <details> with this summary


@dataclass(frozen=True, slots=True)
class Image:
    path: str  # relative to the document, e.g. figures/steady_epoch.png
    png: bytes
    alt: str
    caption: str


Block = Heading | Para | Bullets | Table | Code | Image


def _md_text(text: str) -> str:
    """Text with every `<` that could open HTML (a tag, `</`, `<!`, `<?`) escaped, so a name
    from a results folder (`<script>`) is shown, never run, by a Markdown viewer; `<0.001`
    stays as it is."""
    return _TAG_START.sub("&lt;", text)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_text(b.text)}")
        elif isinstance(b, Para):
            out.append(_md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_text(item)}" for item in b.items))
        elif isinstance(b, Table):
            align = ["---:" if i in b.right else "---" for i in range(len(b.headers))]
            lines = [b.headers, align, *b.rows]
            out.append("\n".join("| " + " | ".join(map(_md_cell, r)) + " |" for r in lines))
        elif isinstance(b, Code):
            out.append(f"```\n{b.text.rstrip()}\n```")
        elif isinstance(b, Image):
            out.append(f"![{_md_text(b.alt)}]({b.path})\n\n*{_md_text(b.caption)}*")
    return "\n\n".join(out) + "\n"


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = []
    for row in t.rows:
        cells = []
        for i, cell in enumerate(row):
            cls = "r" if i in t.right else ""
            cls += " bad" if cell in BAD else ""
            attr = f' class="{cls.strip()}"' if cls.strip() else ""
            cells.append(f"<td{attr}>{html.escape(cell).replace(chr(10), '<br>')}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _inline(text: str) -> str:
    """Escape, then `code` spans as <code> and **bold** as <strong>."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{html.escape(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        return f"<p>{_inline(b.text)}</p>"
    if isinstance(b, Bullets):
        items = "".join(f"<li>{_inline(i)}</li>" for i in b.items)
        return f'<ul class="warn">{items}</ul>'
    if isinstance(b, Table):
        return _html_table(b)
    if isinstance(b, Code):
        pre = f"<pre>{html.escape(b.text.rstrip())}</pre>"
        if b.summary:
            return f"<details><summary>{html.escape(b.summary)}</summary>{pre}</details>"
        return pre
    data = base64.b64encode(b.png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(b.alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
    )


def to_html(title: str, blocks: list[Block]) -> str:
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def to_text(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """A plain fixed-width table for the terminal."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])
