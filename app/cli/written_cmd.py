"""`course written SLUG`: the students' answers to a module's written questions."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_and_gradebook, user_errors


def written_command(ctx: typer.Context,
                    slug: str = typer.Argument(..., help="module slug"),
                    out: Path = typer.Option(Path("written"), "--out",
                                             help="folder for the <grade_id>.html pages, "
                                                  "index.html and written-<slug>.csv")
                    ) -> None:
    """Collect every student's answer to each written question, plus a scores CSV to fill."""
    from gradebook.written import gather_written

    with user_errors():
        course, engine = course_and_gradebook(ctx, slug)
        paths = gather_written(course, engine, slug, out)
        pages = len(paths) - 2
        console.print(f"{slug}: {pages} written question page(s) written to {out}")
        for path in paths:
            console.print(f"wrote {path}")
