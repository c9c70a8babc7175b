"""Printing a results document as a table (shared by grade-notebook and check).

Everything is rendered from the document's data: the total from its numbers, the
sections from `extra_data` (`summary_sections`), never from its top-level `output`.
Text from the document is printed as plain text (no console markup), cleaned of control
characters, and every line that does not start at column 0 keeps its indentation when
the terminal wraps it, so student text never reaches column 0.
"""

from __future__ import annotations

from typing import Any

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from autograder.cli.common import console
from autograder.plugin.results import summary_sections
from autograder.plugin.student_text import clean, one_line


def print_results(doc: dict[str, Any], title: str) -> None:
    """Per-test table, then the total and the feedback summary."""
    table = Table(title=Text(title), show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("message", overflow="fold")
    for test in doc["tests"]:
        ok = test["status"] == "passed"
        table.add_row(Text(one_line(test["name"])),
                      f"{_pts(test['score'])}/{_pts(test['max_score'])}",
                      Text("passed", style="green") if ok else Text("failed", style="red"),
                      Text(clean(test.get("output") or "")))
    console.print(table)
    extra = doc.get("extra_data", {})
    console.print(Text(f"Total: {_pts(doc['score'])} / {_pts(doc['max_score'])}", style="bold")
                  + Text(f"  ({float(doc.get('execution_time') or 0):.1f} s, sandbox: "
                         f"{one_line(extra.get('sandbox', '?'))})"))
    for line in summary_sections(extra):
        _print_line(line)
    if extra.get("timed_out"):
        _print_line("Grading this notebook hit its time limit; tests that did not finish "
                    "scored 0.")


def _print_line(line: str) -> None:
    """One line of feedback; an indented line stays indented when it wraps."""
    body = line.lstrip(" ")
    console.print(Padding(Text(body), (0, 0, 0, len(line) - len(body)), expand=False))


def _pts(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "?"
