"""`course feedback SLUG`, `course publish SLUG` and `course stats SLUG`."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from app.cli.common import console, course_and_gradebook, course_from, user_errors


def feedback_command(ctx: typer.Context,
                     slug: str = typer.Argument(..., help="module slug"),
                     out: Path = typer.Option(Path("feedback"), "--out",
                                              help="folder for the <student_id>.html pages")
                     ) -> None:
    """Write one HTML feedback page per student with a submission (pending ones say so)."""
    from gradebook.feedback import is_published, write_feedback
    from gradebook.store import open_gradebook

    with user_errors():
        course, engine = course_and_gradebook(ctx, slug)
        pages = write_feedback(course, engine, slug, out)
        state = "published" if is_published(engine, slug) else "not published"
        console.print(f"{slug}: {len(pages.graded)} feedback page(s) and "
                      f"{len(pages.pending)} pending page(s) (attempt not graded yet) written "
                      f"to {out} (module {state})")


def publish_command(ctx: typer.Context,
                    slug: str = typer.Argument(..., help="module slug")) -> None:
    """Publish the module's results: feedback pages then show `after_published` tests."""
    from gradebook.feedback import publish
    from gradebook.store import open_gradebook

    with user_errors():
        course = course_from(ctx)
        course.module(slug)
        if publish(open_gradebook(course), slug):
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
