"""`course export FMT` and `course backup DEST`: grades out to an LMS, the gradebook to a file."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors


def export_command(ctx: typer.Context,
                   fmt: str = typer.Argument(..., help="csv, moodle or canvas"),
                   out: Path = typer.Option(None, "--out", help="file to write (default: "
                                            "grades.csv / grades-<fmt>.csv in the course "
                                            "folder)")) -> None:
    """Write the final grades as CSV: the full table, or Moodle's or Canvas's import format."""
    from gradebook.export import default_name, export
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        target = out if out is not None else course.resolve(default_name(course, fmt.lower()))
        written = export(course, open_gradebook(course), fmt, target)
        console.print(f"written: {written}")


def backup_command(ctx: typer.Context,
                   dest: Path = typer.Argument(..., help="new file for the copy (never "
                                               "overwritten)")) -> None:
    """Copy the gradebook consistently while it is in use (SQLite backup API or pg_dump)."""
    from gradebook.backup import backup

    with user_errors():
        course = course_from(ctx)
        written = backup(course, dest)
        console.print(f"backup written: {written} ({written.stat().st_size:,} bytes)")
