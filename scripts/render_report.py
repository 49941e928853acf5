"""Render a report.html (or compare.html) to a PNG with headless Chromium, to look at it.

    .venv/bin/python scripts/render_report.py results/<run_id>/report.html [--out report.png]

Needs a Chromium binary (Debian: `apt-get install chromium`). The page is loaded from a file
with networking disabled, so the screenshot also shows that the report needs nothing from
outside. Exit code 2 when no browser is found.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def render(page: Path, out: Path, width: int = 1400, height: int = 3000) -> Path:
    """Screenshot `page` into `out` (PNG); raises RuntimeError if it cannot."""
    browser = find_browser()
    if browser is None:
        raise RuntimeError(f"no browser found (looked for {', '.join(BROWSERS)})")
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        f"--screenshot={out.resolve()}",
        f"--window-size={width},{height}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if not out.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot: {done.stderr.strip()[-500:]}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="report.html or compare.html")
    parser.add_argument("--out", type=Path, help="PNG to write (default: beside the page)")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    out = args.out or args.page.with_suffix(".png")
    try:
        print(render(args.page, out, args.width, args.height))
    except RuntimeError as exc:
        print(f"render_report: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
