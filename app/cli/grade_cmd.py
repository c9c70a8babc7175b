"""`course grade SLUG`: grade every collected notebook without a result, in parallel."""

from __future__ import annotations

import tempfile

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from app.cli.common import EXIT_GRADER, console, course_and_gradebook, user_errors


def grade_command(ctx: typer.Context,
                  slug: str = typer.Argument(..., help="module slug"),
                  workers: int = typer.Option(2, "--workers", "-j", min=1,
                                              help="submissions graded at once"),
                  regrade: bool = typer.Option(False, help="also grade notebooks whose latest "
                                               "result came from an older suite"),
                  executor: str = typer.Option("local", "--executor", "-e",
                                               help="local (this machine), slurm (one job "
                                                    "array) or dask (a dask.distributed "
                                                    "cluster)"),
                  backend: str = typer.Option(None, "--backend",
                                              help="where student code runs: local, docker, "
                                                   "apptainer or auto (default: the config's "
                                                   "container.backend)")) -> None:
    """Grade pending submissions; safe to interrupt and run again."""
    from app.grading import grade_batch

    with user_errors():
        course, engine = course_and_gradebook(ctx, slug)
        # refreshed by hand: an auto-refreshing bar is a thread, and the local executor
        # forks its grading processes from this one (a lock held by that thread at a
        # fork, such as stdout's, would stay held in the child)
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      transient=False, auto_refresh=False) as bar:
            task = bar.add_task(f"grading {slug}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, refresh=True)

            summary = grade_batch(course, engine, slug, workers=workers, regrade=regrade,
                                  progress=progress, executor=executor, note=bar.console.print,
                                  backend=backend)
        table = Table(title=f"course grade {slug}")
        for col in ("to grade", "graded", "failed to grade", "integrity flags", "mean score", "time (s)"):
            table.add_column(col, justify="right")
        table.add_row(str(summary.to_grade), str(summary.graded), str(len(summary.failed)),
                      str(summary.integrity_flags),
                      f"{summary.mean:.1f} / {summary.max_score:g}" if summary.scores else "-",
                      f"{summary.seconds:.1f}")
        console.print(table)
        if summary.swept:
            console.print(f"removed {summary.swept} scratch folder(s) that killed gradings "
                          f"had left in {tempfile.gettempdir()}")
        for line in summary.failed:
            console.print(f"[red]grader error[/] {line} (will be retried by the next run)")
        if summary.failed:
            raise typer.Exit(EXIT_GRADER)
