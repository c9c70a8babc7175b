"""`course collect SLUG SOURCE` and `course missing SLUG`."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors


def collect_command(ctx: typer.Context,
                    slug: str = typer.Argument(..., help="module slug"),
                    source: Path = typer.Argument(..., help="folder of notebooks, or an LMS zip"),
                    times: Path = typer.Option(None, "--times", help="LMS grading worksheet or "
                                               "CSV with submission times (else: collection time)")
                    ) -> None:
    """Store a batch of submitted notebooks, matched to the roster."""
    from gradebook.collect import collect
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        report = collect(open_gradebook(course), slug, source, times, course.timezone)
        console.print(f"{slug}: {len(report.stored)} stored, {len(report.unchanged)} unchanged "
                      f"(already collected), {len(report.unmatched)} unmatched, "
                      f"{len(report.ambiguous)} ambiguous"
                      + ("" if times else "; submission times = collection time (no --times)"))
        for name in report.unmatched:
            console.print(f"  [yellow]unmatched[/] {name} (no student id, LMS id or email in its name)")
        for name in report.ambiguous:
            console.print(f"  [yellow]ambiguous[/] {name}")
        for group in report.identical:
            console.print(f"  [magenta]identical notebooks[/] {', '.join(group)} (review)")


def missing_command(ctx: typer.Context, slug: str = typer.Argument(..., help="module slug")) -> None:
    """List the students who have not submitted the module."""
    from gradebook.collect import missing
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        absent = missing(open_gradebook(course), slug)
        for student in absent:
            console.print(f"{student.id}\t{student.name}\t{student.email}")
        console.print(f"{len(absent)} student(s) without a submission for {slug}")
