"""`course schedule`: the term's calendar from course_config.py, as a table."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from app.cli.common import console, course_from, user_errors
from autograder.release.manifest import Manifest
from autograder.schedule import parse_instant, schedule

STYLE = {"upcoming": "dim", "released": "green", "due": "yellow", "closed": "red"}


def schedule_command(
    ctx: typer.Context,
    as_of: str = typer.Option(None, "--as-of", metavar="DATE",
                              help="show the status at this date or date-time (default: now)"),
    dist: Path = typer.Option(Path("dist"), help="folder of released bundles (manifest.json)"),
) -> None:
    """The term's calendar: module, release date, due date and time, status."""
    with user_errors():
        course = course_from(ctx)
        now = parse_instant(course, as_of)
        manifest = Manifest.load(course.resolve(dist), course.term)
        table = Table(title=f"{course.name} {course.term}: schedule as of "
                            f"{now:%Y-%m-%d %H:%M} ({course.timezone})")
        for col in ("week", "module", "title", "release", "due", "late until", "status",
                    "bundle"):
            table.add_column(col)
        for row in schedule(course, now):
            entry = manifest.get("assignment", row.slug)
            solution = manifest.get("solutions", row.slug)
            bundle = f"rev {entry.revision}" if entry else "-"
            if solution:
                bundle += " + solutions"
            table.add_row(str(row.week), row.slug, row.title, f"{row.release_at:%a %Y-%m-%d}",
                          f"{row.due_at:%a %Y-%m-%d %H:%M}", f"{row.cutoff_at:%a %Y-%m-%d}",
                          f"[{STYLE[row.status]}]{row.status}[/]", bundle)
        console.print(table)
