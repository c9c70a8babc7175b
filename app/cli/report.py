"""Printing a results document as a table (shared by grade-notebook and check).

Everything is rendered from the document's data: the total from its numbers, the
sections from `extra_data` (`summary_sections`), never from its top-level `output`.
Text from the document is printed as plain text (no console markup), cleaned of control
characters, and wrapped: an indented line keeps its indentation, and the continuation
of any line is indented, so only the start of a line of the grader's own is ever at
column 0 (of the terminal, or of a table cell).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from app.cli.common import console
from autograder.plugin.results import summary_sections
from autograder.core.student_text import clean, one_line


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
                      _lines(clean(test.get("output") or "").split("\n")))
    console.print(table)
    extra = doc.get("extra_data", {})
    console.print(Text(f"Total: {_pts(doc['score'])} / {_pts(doc['max_score'])}", style="bold")
                  + Text(f"  ({float(doc.get('execution_time') or 0):.1f} s, sandbox: "
                         f"{one_line(extra.get('sandbox', '?'))})"))
    lines = summary_sections(extra)
    if extra.get("timed_out"):
        lines.append("Grading this notebook hit its time limit; tests that did not finish "
                     "scored 0.")
    if lines:
        console.print(_lines(lines))


HANG = 2  # extra indentation of a wrapped line's continuation


class _Line:
    """One line of feedback as plain text, wrapped with its indentation kept and its
    continuation lines indented by HANG more."""

    def __init__(self, line: str) -> None:
        body = line.lstrip(" ")
        self.indent = len(line) - len(body)
        self.text = Text(body)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.indent - HANG, 8)
        for i, part in enumerate(self.text.wrap(console, width)):
            yield Text(" " * (self.indent + (HANG if i else 0))) + part

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        inner = Measurement.get(console, options, self.text)
        return Measurement(inner.minimum + self.indent + HANG, inner.maximum + self.indent)


def _lines(lines: list[str]) -> Group:
    """Lines of feedback, each a `_Line`."""
    return Group(*(_Line(line) for line in lines))


def _pts(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "?"
