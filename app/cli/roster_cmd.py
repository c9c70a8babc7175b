"""`course roster import FILE`: the class list."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors

app = typer.Typer(no_args_is_help=True, help="The class list (students and their LMS ids).")


@app.command("import")
def import_command(ctx: typer.Context,
                   csv_file: Path = typer.Argument(..., help="CSV with id,name,email[,lms_id]")) -> None:
    """Add new students and update changed ones (nothing is written if any row is bad)."""
    from gradebook.roster import import_roster
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        added, updated = import_roster(open_gradebook(course), csv_file)
        console.print(f"roster: {added} added, {updated} updated")
