"""`course rubric check` and `course rubric export SLUG`: the rubric files (docs/rubrics.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors
from autograder.core.errors import UserError
from gradebook.rubric import (check_rubrics, course_rubric_path, dump_rubric, load_rubric,
                              module_rubric_path)

app = typer.Typer(no_args_is_help=True, help="Rubrics of the written questions and the "
                                             "manual components.")

COURSE = "course"  # the SLUG that names the course-wide file solutions/rubric.toml


@app.command("check")
def check_command(ctx: typer.Context) -> None:
    """Check every rubric file; print each problem, non-zero exit if there is any."""
    with user_errors():
        course = course_from(ctx)
        problems = check_rubrics(course)
        for line in problems:
            console.print(line, soft_wrap=True, markup=False)
        if problems:
            console.print(f"{len(problems)} rubric problem(s)")
            raise typer.Exit(1)
        paths = [module_rubric_path(course, m.slug) for m in course.modules]
        paths.append(course_rubric_path(course))
        rubrics = [r for r in (load_rubric(p) for p in paths) if r is not None]
        questions = [q for r in rubrics for q in r.questions]
        parts = [p for q in questions for p in q.parts]
        console.print(f"rubrics OK: {len(rubrics)} file(s), {len(questions)} question(s), "
                      f"{len(parts)} part(s), {sum(len(p.items) for p in parts)} item(s)")


@app.command("export")
def export_command(
    ctx: typer.Context,
    slug: str = typer.Argument(..., help=f"a module's slug, or {COURSE!r} for the "
                                         f"course-wide solutions/rubric.toml"),
    out: Path = typer.Option(None, "--out", help="write to this file instead of printing"),
) -> None:
    """The rubric file of a module, normalised (as the web app writes it back)."""
    with user_errors():
        course = course_from(ctx)
        path = course_rubric_path(course) if slug == COURSE else module_rubric_path(course, slug)
        rubric = load_rubric(path)
        if rubric is None:
            raise UserError(f"{path}: no rubric file; write one (docs/rubrics.md describes "
                            f"the format)")
        text = dump_rubric(rubric)
        if out is None:
            typer.echo(text, nl=False)
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{out}: cannot write ({exc.strerror or exc}); choose another "
                            f"--out") from None
        console.print(f"wrote {out} ({len(rubric.questions)} question(s))", markup=False)
