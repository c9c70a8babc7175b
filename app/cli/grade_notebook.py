"""`course grade-notebook SLUG NOTEBOOK`: grade one notebook with the hidden suite."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from app.cli.common import course_from, user_errors
from app.cli.report import print_results
from autograder.engine import run_suite
from autograder.request import build_request
from autograder.core.errors import UserError


def grade_notebook_command(
    ctx: typer.Context,
    slug: str = typer.Argument(..., help="module slug from course_config.py"),
    notebook: Path = typer.Argument(..., help="the submitted .ipynb"),
    results: Path = typer.Option(None, "--results", help="write results.json here"),
    device: str = typer.Option(None, help="where student code runs: auto (CUDA where the "
                                           "worker sees a GPU), cpu or cuda; default: auto "
                                           "for modules with gpu=True, else cpu"),
    trusted: bool = typer.Option(False, "--trusted/--sandboxed",
                                 help="trusted: student code runs in the grading process "
                                      "(fast, no isolation); default: a sandboxed worker"),
    backend: str = typer.Option(None, "--backend",
                                help="local, docker, apptainer or auto (default: "
                                     "course_config.py's container.backend)"),
) -> None:
    """Grade one notebook; exit 0 when grading completed, whatever the score."""
    with user_errors():
        course = course_from(ctx)
        course.module(slug)  # an unknown module first, then a missing notebook
        if not notebook.is_file():
            raise UserError(f"{notebook}: no such notebook")
        request = build_request(course, slug, notebook.resolve(),
                                mode="trusted" if trusted else "sandboxed", device=device,
                                backend=None if trusted else backend)
        outcome = run_suite(request)
        print_results(outcome.results, f"{slug}: {notebook.name}")
        if results is not None:
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(outcome.results, indent=1), encoding="utf-8")
