"""`course final`: every student's module scores, report, presentation, bonus and grade."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from app.cli.common import console, course_from, user_errors


def final_command(ctx: typer.Context,
                  scale: str = typer.Option(None, help="grade scale name (default: the first)"),
                  csv: Path = typer.Option(None, "--csv", help="also write the table as CSV")) -> None:
    """Print the final grades table (weights, late curve and scales from course_config.py)."""
    from gradebook.aggregate import final_grades
    from gradebook.frames import load_frames
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        attempts, manual, extensions, students = load_frames(open_gradebook(course), course)
        table_df = final_grades(course, attempts, manual, extensions, students, scale=scale)
        table = Table(title=f"{course.name}: final grades ({len(students)} students)")
        table.add_column("student")
        for col in table_df.columns:
            table.add_column(str(col), justify="right")
        for sid, row in table_df.iterrows():
            table.add_row(str(sid), *[f"{v:.1f}" if isinstance(v, float) else str(v) for v in row])
        wide = console if console.is_terminal else Console(width=220, highlight=False)
        wide.print(table)
        if csv is not None:
            table_df.to_csv(csv)
            console.print(f"written: {csv}")
