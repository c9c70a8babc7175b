"""`course release`: build the bundles students receive (and, after the cut-off, the
reference notebooks), each scanned for leaks and recorded in dist/manifest.json."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from app.cli.common import console, course_from, user_errors
from autograder.config import Course
from autograder.core.errors import UserError
from autograder.release.bundle import release, release_solutions
from autograder.release.manifest import DIST_FOLDER
from autograder.schedule import parse_instant


def release_command(
    ctx: typer.Context,
    slugs: list[str] = typer.Argument(None, help="modules to release (default: every module "
                                                 "whose release date has come)"),
    week: int = typer.Option(None, "--week", min=1, help="the modules of this release week"),
    due_by: str = typer.Option(None, "--due-by", metavar="DATE",
                               help="the modules due on or before this date"),
    solutions: bool = typer.Option(False, "--solutions",
                                   help="release the reference notebooks (after the cut-off)"),
    update: bool = typer.Option(False, "--update",
                                help="release a changed bundle as a new revision"),
    dist: Path = typer.Option(DIST_FOLDER, help="where bundles and manifest.json go"),
    as_of: str = typer.Option(None, "--as-of", metavar="DATE",
                              help="act as if it were this date or date-time (default: now)"),
) -> None:
    """Build dist/<slug>-<term>.zip per module; releasing twice is harmless."""
    with user_errors():
        course = course_from(ctx)
        now = parse_instant(course, as_of)
        chosen = _select(course, slugs or [], week, due_by, now)
        if solutions and not slugs:
            raise UserError("--solutions needs the module slugs named explicitly, e.g. "
                            "`course release --solutions transformer`")
        out = course.resolve(dist)
        table = Table(title=f"course release ({course.term})")
        for col in ("module", "bundle", "status", "revision", "files"):
            table.add_column(col)
        for slug in chosen:
            done = (release_solutions if solutions else release)(course, slug, out, now, update)
            table.add_row(slug, str(done.path.relative_to(course.root) if
                                    done.path.is_relative_to(course.root) else done.path),
                          done.status, str(done.entry.revision), str(len(done.entry.files)))
            console.print(f"{slug}: {done.status} {done.path.name}")
        console.print(table)


def _select(course: Course, slugs: list[str], week: int | None, due_by: str | None,
            now) -> list[str]:
    if sum((bool(slugs), week is not None, due_by is not None)) > 1:
        raise UserError("give module slugs, --week or --due-by, not several of them")
    if slugs:
        for slug in slugs:
            course.module(slug)
        return list(dict.fromkeys(slugs))
    if week is not None:
        chosen = [m.slug for m in course.modules if m.release_week == week]
        if not chosen:
            raise UserError(f"no module is released in week {week}; `course schedule` "
                            f"lists the weeks")
        return chosen
    if due_by is not None:
        limit = parse_instant(course, due_by)
        chosen = [m.slug for m in course.modules if course.due_at(m.slug) <= limit]
        if not chosen:
            raise UserError(f"no module is due by {due_by}; `course schedule` lists due dates")
        return chosen
    chosen = [m.slug for m in course.modules if course.release_at(m.slug) <= now]
    if not chosen:
        raise UserError(f"no module's release date has come by {now:%Y-%m-%d}; name the "
                        f"modules or use --week N")
    return chosen
