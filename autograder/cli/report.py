"""Printing a results document as a table (shared by grade-notebook and check)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from autograder.cli.common import console


def print_results(doc: dict[str, Any], title: str) -> None:
    """Per-test table, then the total and the feedback summary."""
    table = Table(title=title, show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("message", overflow="fold")
    for test in doc["tests"]:
        ok = test["status"] == "passed"
        table.add_row(test["name"], f"{test['score']:g}/{test['max_score']:g}",
                      "[green]passed[/]" if ok else "[red]failed[/]",
                      (test["output"] or "").splitlines()[0] if test["output"] else "")
    console.print(table)
    extra = doc.get("extra_data", {})
    console.print(f"[bold]Total: {doc['score']:g} / {doc['max_score']:g}[/]"
                  f"  ({doc['execution_time']:.1f} s, sandbox: {extra.get('sandbox', '?')})")
    details = doc["output"].split("\n", 2)[2:] if doc.get("output") else []
    for block in details:
        console.print(block)
