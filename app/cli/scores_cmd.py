"""`course scores template|import`, `course override` and `course extend`: the TA's entries."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, course_from, user_errors

app = typer.Typer(no_args_is_help=True,
                  help="Manual scores: written answers, module reports, presentations, bonus.")


@app.command("template")
def template_command(ctx: typer.Context,
                     component: str = typer.Argument(..., help="written | module_report | "
                                                     "presentation | bonus"),
                     slug: str = typer.Argument(None, help="module slug (written, module_report)"),
                     out: Path = typer.Option(None, "--out", help="write the CSV to this file "
                                              "(default: print it)")) -> None:
    """A CSV to fill in: one row per student, max_points prefilled."""
    from gradebook.scores import template
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        text = template(open_gradebook(course), course, component, slug)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"written: {out} ({text.count(chr(10)) - 1} students)", soft_wrap=True)


@app.command("import")
def import_command(ctx: typer.Context,
                   csv_file: Path = typer.Argument(..., help="CSV with student_id,points"
                                                   "[,max_points,comment,slug]"),
                   component: str = typer.Option(..., "--component", help="written | "
                                                 "module_report | presentation | bonus"),
                   slug: str = typer.Option(None, "--slug", help="module slug (written, "
                                            "module_report) unless the file has a slug column"),
                   grader: str = typer.Option("", "--grader", help="who graded (kept with "
                                              "the scores)")) -> None:
    """Store the filled-in scores (nothing is written if any row is bad)."""
    from gradebook.scores import import_scores
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        changed = import_scores(open_gradebook(course), course, csv_file, component, slug, grader)
        where = f" / {slug}" if slug else ""
        console.print(f"{component}{where}: {changed} score(s) new or changed")


def override_command(ctx: typer.Context,
                     student: str = typer.Argument(..., help="student id"),
                     slug: str = typer.Argument(..., help="module slug"),
                     test: str = typer.Argument(..., help="test name, e.g. test_counter_mean"),
                     points: float = typer.Option(..., "--points", help="the test's new points"),
                     reason: str = typer.Option(..., "--reason", help="why (kept in the audit log)")
                     ) -> None:
    """Change one test's autograded points for one student (a regrade request)."""
    from gradebook.scores import override
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        override(open_gradebook(course), course, student, slug, test, points, reason)
        console.print(f"{student} / {slug}: {test} set to {points:g} points")


def extend_command(ctx: typer.Context,
                   student: str = typer.Argument(..., help="student id"),
                   slug: str = typer.Argument(..., help="module slug"),
                   days: int = typer.Option(..., "--days", help="extra days (>= 1)"),
                   reason: str = typer.Option("", "--reason", help="why (kept in the audit log)")
                   ) -> None:
    """Give a student extra days on a module (several extensions add up)."""
    from gradebook.scores import extend
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        extend(open_gradebook(course), student, slug, days, reason)
        console.print(f"{student} / {slug}: extended by {days} day(s)")
