"""`course grade-notebook SLUG NOTEBOOK`: grade one notebook with the hidden suite."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from app.cli.common import course_from, user_errors
from app.cli.report import print_results
from autograder.engine import GradeRequest, run_suite
from autograder.core.errors import UserError
from autograder.layout import module_layout
from autograder.sandbox.backends import resolve_backend
from autograder.suite_hash import suite_hash


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
        layout = module_layout(course, slug)
        layout.require("master", "hidden_suite")
        if not notebook.is_file():
            raise UserError(f"{notebook}: no such notebook")
        device = device or course.module(slug).grading_device
        if device not in ("auto", "cpu", "cuda"):
            raise UserError(f"--device {device!r}: use auto, cpu or cuda")
        if trusted and device == "cuda":
            raise UserError("--device cuda needs the sandbox: --trusted runs student code "
                            "in the grading process, on the CPU")
        request = GradeRequest(suite=[layout.hidden_suite], submission=notebook.resolve(),
                               master=layout.master, limits=course.sandbox,
                               suite_hash=suite_hash(layout, course.sandbox), device=device,
                               mode="trusted" if trusted else "sandboxed")
        if not trusted:
            chosen = resolve_backend(course, backend)
            request = dataclasses.replace(request, sandbox_kind=chosen.sandbox_kind,
                                          image=chosen.image, gpus=chosen.gpus)
        outcome = run_suite(request)
        print_results(outcome.results, f"{slug}: {notebook.name}")
        if results is not None:
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(outcome.results, indent=1), encoding="utf-8")
