"""`course assign SLUG`: generate the student stub and public tests from the master."""

from __future__ import annotations

import typer

from autograder.assign import assign
from app.cli.common import EXIT_USAGE, console, course_from, err_console, user_errors
from autograder.layout import module_layout


def assign_command(
    ctx: typer.Context,
    slugs: list[str] = typer.Argument(..., help="module slug(s) from course_config.py"),
    check: bool = typer.Option(False, "--check", help="only report files that are out of date"),
) -> None:
    """Generate assignments/SLUG/ (stub notebook + public tests) from solutions/SLUG/."""
    with user_errors():
        course = course_from(ctx)
        stale_total = 0
        for slug in slugs:
            layout = module_layout(course, slug)
            result = assign(layout, title=course.module(slug).title, check=check)
            stale_total += len(result.stale)
            for warning in result.warnings:
                err_console.print(f"[bold yellow]warning:[/] {warning}", soft_wrap=True)
            if check:
                state = "up to date" if not result.stale else \
                    f"{len(result.stale)} file(s) out of date: " + \
                    ", ".join(str(p.relative_to(course.root)) for p in result.stale)
                console.print(f"{slug}: {state}")
            else:
                console.print(f"{slug}: wrote {len(result.written)} file(s) in "
                              f"{layout.assignment_dir.relative_to(course.root)}/"
                              + ("" if result.written else " (already up to date)"))
        if check and stale_total:
            raise typer.Exit(EXIT_USAGE)
