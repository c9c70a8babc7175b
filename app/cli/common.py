"""What every command shares: loading the config, one-line errors, the console."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import typer
from rich.console import Console

from autograder.config import Course
from autograder.course_loader import load_course
from autograder.core.errors import GraderError, UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_USAGE = 2  # the user can fix it: bad path, config, notebook
EXIT_GRADER = 3  # the grader failed; nothing was recorded


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn UserError/GraderError into one line on stderr and a non-zero exit."""
    try:
        yield
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except GraderError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unknown"
        err_console.print(f"[bold red]grader error[/] (not the student's fault): {first}",
                          soft_wrap=True)
        raise typer.Exit(EXIT_GRADER) from None


def course_from(ctx: typer.Context) -> Course:
    """The course of this invocation (--config, else the nearest course_config.py)."""
    path: Path | None = (ctx.obj or {}).get("config")
    return load_course(path)


def course_and_gradebook(ctx: typer.Context, slug: str | None = None) -> tuple[Course, "Engine"]:
    """The course and its gradebook, after checking that module `slug` (if given) exists."""
    from gradebook.store import open_gradebook

    course = course_from(ctx)
    if slug is not None:
        course.module(slug)
    return course, open_gradebook(course)
