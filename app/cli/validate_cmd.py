"""`course validate [SLUG...]`: master runs, reference full, stub zero, mutants caught, and
the rubric files hold (`gradebook.rubric`: the module's, and without SLUGs the course-wide
one too); every rubric problem is a failed check of its own."""

from __future__ import annotations

from typing import Callable

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.common import EXIT_USAGE, console, course_from, user_errors
from autograder.layout import module_layout
from autograder.validate import Check, validate_module
from gradebook.rubric import check_course_rubric, check_module_rubric


def validate_command(
    ctx: typer.Context,
    slugs: list[str] = typer.Argument(None, help="modules to validate (default: all written)"),
    workers: int = typer.Option(2, "--workers", "-j", min=1, help="mutants graded in parallel"),
    execute: bool = typer.Option(True, "--execute/--no-execute",
                                 help="run the master notebook top to bottom (nbclient)"),
    device: str = typer.Option("cpu", help="where student code runs: cpu, or cuda (then the "
                                           "mutants run sandboxed too: trusted mode is CPU-only)"),
) -> None:
    """Validate modules; one table; non-zero exit on any failed check."""
    with user_errors():
        if device not in ("cpu", "cuda"):
            console.print(f"--device {device!r}: use cpu or cuda")
            raise typer.Exit(EXIT_USAGE)
        course = course_from(ctx)
        chosen = list(slugs) if slugs else [m.slug for m in course.modules]
        for slug in chosen:
            course.module(slug)  # unknown slugs: one line, exit 2
        checks: list[Check] = []
        not_written: list[str] = []

        def show(check: Check) -> None:
            mark = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
            console.print(f"  {mark} {check.module}: {check.name} ({check.seconds:.1f} s)")

        for slug in chosen:
            layout = module_layout(course, slug)
            if not slugs and not layout.solution_dir.is_dir():
                not_written.append(slug)
                continue
            console.print(f"[bold]validating {slug}[/]")
            checks += validate_module(course, slug, workers=workers, run_master=execute,
                                      progress=show, device=device)
            checks += _rubric_checks(slug, check_module_rubric(course, slug), show)
        if not slugs and checks:
            checks += _rubric_checks("(course)", check_course_rubric(course), show)
        table = Table(title="course validate")
        for col in ("module", "check", "result", "detail", "s"):
            table.add_column(col, overflow="fold", justify="right" if col == "s" else "left")
        for c in checks:
            table.add_row(c.module, c.name, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail,
                          f"{c.seconds:.1f}")
        console.print(table)
        if not_written:
            console.print(f"not written yet (no solutions/<slug>/): {', '.join(not_written)}")
        failed = [c for c in checks if not c.ok]
        for c in failed:
            console.print(f"[red]FAIL[/] {c.module}: {c.name}: {c.detail}", soft_wrap=True)
        console.print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
        if failed or not checks:
            raise typer.Exit(1 if checks else EXIT_USAGE)


def _rubric_checks(module: str, problems: list[str], show: Callable[[Check], None]
                   ) -> list[Check]:
    """One passed check when the rubric file holds (or there is none), else one failed
    check per problem (escaped: the table and the FAIL lines render markup)."""
    made = [Check(module, "rubric", False, escape(line)) for line in problems] or \
        [Check(module, "rubric", True, "rubric.toml holds (or none: default rubrics)")]
    for check in made:
        show(check)
    return made
