"""Shared pieces of the gradebook's self-contained HTML pages (feedback, written answers).

Every page is one file with its CSS inline and no scripts; every value taken from the
gradebook goes through `escape`.
"""

from __future__ import annotations

import html
from typing import Any

BASE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .who { color: #555; margin-top: 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0;
      font-family: ui-monospace, monospace; font-size: .9rem; }
.note { color: #555; }
"""


def escape(value: Any) -> str:
    """`str(value)` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def points(x: Any) -> str:
    """A number of points as shortest text (2, 1.5); "?" for what is not a number."""
    try:
        return f"{float(x):g}"
    except (TypeError, ValueError):
        return "?"


def page_head(title: str, css: str) -> list[str]:
    """The lines from the doctype to the opening <body>, with BASE_CSS and `css` inline."""
    return ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{BASE_CSS}{css}</style></head><body>"]
