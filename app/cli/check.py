"""`course check NOTEBOOK`: the public tests only, for students, in seconds."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import course_from, user_errors
from app.cli.report import print_results
from autograder.engine import run_suite
from autograder.request import build_request
from autograder.core.errors import UserError
from autograder.core.notebook_io import NotebookError, notebook_slug, read_notebook


def check_command(
    ctx: typer.Context,
    notebook: Path = typer.Argument(..., help="your .ipynb"),
    slug: str = typer.Option(None, help="module slug, if the notebook's metadata lacks it"),
) -> None:
    """Run the module's public tests on a notebook (the slug is read from the notebook)."""
    with user_errors():
        course = course_from(ctx)
        try:
            nb = read_notebook(notebook, course.sandbox.max_notebook_mb)
        except NotebookError as exc:
            raise UserError(str(exc)) from None
        slug = slug or notebook_slug(nb)
        if not slug:
            raise UserError(f"{notebook}: no module slug in its metadata (was it made by "
                            f"`course assign`?); pass --slug SLUG")
        request = build_request(course, slug, notebook.resolve(), suite="public")
        outcome = run_suite(request)
        print_results(outcome.results, f"{slug} public checks: {notebook.name}")
