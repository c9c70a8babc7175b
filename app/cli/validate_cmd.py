"""`course validate [SLUG...]`: master runs, reference full, stub zero, mutants caught."""

from __future__ import annotations

import typer
from rich.table import Table

from app.cli.common import EXIT_USAGE, console, course_from, user_errors
from autograder.layout import module_layout
from autograder.validate import Check, validate_module


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
