"""`course gradescope SLUG`: a Gradescope autograder zip that runs our engine."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors


def gradescope_command(
    ctx: typer.Context,
    slug: str = typer.Argument(..., help="module slug"),
    out: Path = typer.Option(None, "--out", help="default: dist/gradescope-<slug>.zip"),
) -> None:
    """Write a Gradescope autograder zip (setup.sh, run_autograder, the engine, the hidden
    suite and the master): upload it as the assignment's autograder. Staff only."""
    from autograder.gradescope import write_autograder_zip

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        path = write_autograder_zip(course, slug, out or course.resolve(f"dist/gradescope-{slug}.zip"))
        console.print(f"wrote {path} (contains the reference and the hidden suite: keep it "
                      f"private; upload it as the Gradescope autograder)")
