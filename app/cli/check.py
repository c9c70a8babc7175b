"""`course check NOTEBOOK`: the public tests only, for students, in seconds."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import course_from, user_errors
from app.cli.report import print_results
from autograder.engine import GradeRequest, run_suite
from autograder.core.errors import UserError
from autograder.layout import module_layout
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
        layout = module_layout(course, slug)
        layout.require("stub")
        tests = layout.public_tests()
        if not tests:
            raise UserError(f"{layout.assignment_dir}: no public tests (test_*.py); "
                            f"run `course assign {slug}`")
        request = GradeRequest(suite=tests, submission=notebook.resolve(), master=layout.stub,
                               limits=course.sandbox)
        outcome = run_suite(request)
        print_results(outcome.results, f"{slug} public checks: {notebook.name}")
