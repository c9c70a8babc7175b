"""`course feedback SLUG`, `course publish SLUG [--written]` / `course publish --final` and
`course stats SLUG`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from app.cli.common import console, course_and_gradebook, course_from, user_errors
from autograder.core.errors import UserError


def feedback_command(ctx: typer.Context,
                     slug: str = typer.Argument(..., help="module slug"),
                     out: Path = typer.Option(Path("feedback"), "--out",
                                              help="folder for the <student_id>.html pages")
                     ) -> None:
    """Write one HTML feedback page per student with a submission (pending ones say so)."""
    from app.feedback_pages import render_feedback_page
    from gradebook.feedback import is_published, is_published_written, write_feedback

    with user_errors():
        course, engine = course_and_gradebook(ctx, slug)
        pages = write_feedback(course, engine, slug, out, render=render_feedback_page)
        state = "published" if is_published(engine, slug) else "not published"
        written = "published" if is_published_written(engine, slug) else "not published"
        console.print(f"{slug}: {len(pages.graded)} feedback page(s) and "
                      f"{len(pages.pending)} pending page(s) (attempt not graded yet) written "
                      f"to {out} (module {state}, written scores {written})")


def publish_command(ctx: typer.Context,
                    slug: Optional[str] = typer.Argument(None,
                                                         help="module slug (not with --final)"),
                    written: bool = typer.Option(False, "--written",
                                                 help="publish the module's written scores "
                                                      "(rubric items and comments)"),
                    final: bool = typer.Option(False, "--final",
                                               help="publish the course's final grades "
                                                    "(no module slug)")) -> None:
    """Publish to students: `SLUG` the module's test results (after_published tests show),
    `SLUG --written` its written scores, `--final` the final grades."""
    from gradebook.feedback import publish, publish_final, publish_written
    from gradebook.store import open_gradebook

    with user_errors():
        if final and written:
            raise UserError("--final and --written are two publications; run "
                            "`course publish --final` and `course publish SLUG --written` "
                            "one at a time")
        if final and slug is not None:
            raise UserError(f"--final publishes the final grades of the whole course; leave "
                            f"out the module {slug!r}: `course publish --final`")
        if not final and slug is None:
            raise UserError("name what to publish: `course publish SLUG` (test results), "
                            "`course publish SLUG --written` or `course publish --final`")
        course = course_from(ctx)
        if final:
            if publish_final(open_gradebook(course)):
                console.print("final grades: published; students now see their final grade")
            else:
                console.print("final grades: already published (nothing changed)")
            return
        assert slug is not None
        course.module(slug)
        engine = open_gradebook(course)
        if written:
            if publish_written(engine, slug):
                console.print(f"{slug}: written scores published; run `course feedback "
                              f"{slug}` to write the pages")
            else:
                console.print(f"{slug}: written scores already published (nothing changed)")
        elif publish(engine, slug):
            console.print(f"{slug}: published; run `course feedback {slug}` to write the pages")
        else:
            console.print(f"{slug}: already published (nothing changed)")


def stats_command(ctx: typer.Context,
                  slug: str = typer.Argument(..., help="module slug"),
                  out: Path = typer.Option(Path("stats"), "--out", help="folder for the PNG plots")
                  ) -> None:
    """Per-test pass rates and the score distribution of a module, printed and plotted."""
    from gradebook.stats import module_stats, score_summary, write_plots
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        spec = course.module(slug)
        engine = open_gradebook(course)
        per_test, scores = module_stats(course, engine, slug)
        if scores.empty:
            console.print(f"{slug}: no graded submissions yet (run `course grade {slug}`)")
        else:
            table = Table(title=f"{spec.title}: tests ({len(scores)} students)")
            table.add_column("test")
            table.add_column("passed", justify="right")
            table.add_column("mean points", justify="right")
            table.add_column("max", justify="right")
            for row in per_test.itertuples(index=False):
                table.add_row(str(row.test), f"{100 * row.pass_rate:.1f}%",
                              f"{row.mean_points:.2f}", f"{row.max_points:g}")
            console.print(table)
            summary = score_summary(scores)
            dist = Table(title=f"{spec.title}: scores (of {spec.autograded_points:g} points)")
            for name in ("n", "mean", "std", "min", "25%", "median", "75%", "max"):
                dist.add_column(name, justify="right")
            values = [summary[k] for k in ("mean", "std", "min", "25%", "50%", "75%", "max")]
            dist.add_row(str(int(summary["count"])),
                         *("-" if math.isnan(v) else f"{v:.2f}" for v in values))
            console.print(dist)
        for path in write_plots(course, engine, slug, out):
            console.print(f"wrote {path}")
