"""`course doctor`: check the gradebook's consistency; exit 1 on any finding."""

from __future__ import annotations

import typer
from rich.table import Table

from app.cli.common import console, course_from, user_errors


def doctor_command(ctx: typer.Context) -> None:
    """Check the gradebook: database integrity, schema, stored notebooks, exactly one
    grading run per notebook and suite, scores that add up, audit entries, references."""
    from gradebook.doctor import diagnose
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        findings = diagnose(course, open_gradebook(course))
        table = Table(title="course doctor")
        for col in ("check", "rows", "result"):
            table.add_column(col)
        for f in findings:
            table.add_row(f.check, str(f.counted), "[green]ok[/]" if f.ok else
                          f"[red]{len(f.problems)} problem(s)[/]")
        console.print(table)
        for f in findings:
            for problem in f.problems[:50]:
                console.print(f"[red]{f.check}[/]: {problem}", soft_wrap=True)
        if any(not f.ok for f in findings):
            raise typer.Exit(1)
        console.print("the gradebook is consistent")
