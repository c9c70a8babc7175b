"""Manual scores, regrade overrides and deadline extensions: the TA's entries.

- `template` writes the CSV a grader fills in (one row per student); `import_scores`
  reads it back, validates every row before anything is written, and stores the scores
  in one transaction. Every bad row is a `UserError` with one line naming the file, the
  line and the fix.
- `override` changes the autograded points of one test for one student (a regrade
  request); `apply_overrides` turns the overrides into a score delta per (student,
  module) that the aggregation can add to the autograded points.
- `extend` gives a student extra days on a module.

Every change writes an `AuditEntry` in the same transaction.

Choices where the scheme is silent:
- Components and their maxima: `written` (per module; max = the module's
  `written_points` from the config, and a different max in the file is an error, since
  the aggregation uses the config's value), `module_report` (per module; max defaults to
  `MODULE_REPORT_MAX` = 10 points), `presentation` (max defaults to `PRESENTATION_MAX` =
  10 points), `bonus` (percentage points; the max column is left empty in the template,
  an empty max means the config's `bonus_cap`, and points above it are rejected).
- An empty `max_points` cell means the component's default maximum; an empty `points`
  cell means "not graded yet" and the row is skipped.
- A per-module import takes its module from the `slug` column when the cell is filled,
  otherwise from the `slug` argument; a filled cell must agree with the argument.
- A score is "changed" when its points, max_points or comment differ from the newest
  stored score of that (student, component, module); unchanged rows are not written, so an
  identical re-import writes nothing. Older scores stay in the table (the aggregation
  reads the newest one).
- Points may use a decimal comma ("1,5"); a file whose header is separated by ";" (as
  spreadsheet programs in German locales write it) is read with that separator.
- Overrides apply to the result that counts (`gradebook.results`): the counted
  attempt's newest graded run. An override sets a test's points; the delta is (override
  points - that test's score) in that run, with the override clamped to the test's
  current max_score. Overrides of tests that the run does not have (the suite changed)
  are not applied. `override` refuses while the counted attempt is not graded yet.
- Several extensions of one (student, module) add up (as the aggregation sums them).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.csv_input import read_csv
from gradebook.models import Extension, ManualScore, Module, Override, Student
from gradebook.results import CountedResult, counted_result, counted_results
from gradebook.store import audit

PER_MODULE = ("written", "module_report")
COURSE_WIDE = ("presentation", "bonus")
COMPONENTS = PER_MODULE + COURSE_WIDE
MODULE_REPORT_MAX = 10.0  # default maximum of a module report (points)
PRESENTATION_MAX = 10.0  # default maximum of a presentation (points)
REQUIRED = ("student_id", "points")


@dataclass
class ScoreRow:
    """One validated row of a scores CSV."""

    line: int
    student_id: str
    slug: str | None
    points: float
    max_points: float
    comment: str


# --- template -------------------------------------------------------------------------
def _check_component(course: Course, component: str, slug: str | None) -> None:
    """UserError unless the component is known and gets a slug exactly when per module."""
    if component not in COMPONENTS:
        raise UserError(f"unknown component {component!r}; use one of {', '.join(COMPONENTS)}")
    if component in PER_MODULE and not slug:
        raise UserError(f"component {component} is graded per module; give the module slug "
                        f"(one of {', '.join(m.slug for m in course.modules)})")
    if component in COURSE_WIDE and slug:
        raise UserError(f"component {component} is not per module; leave out the slug {slug!r}")
    if slug:
        course.module(slug)  # ConfigError (a UserError) naming the known slugs


def default_max(course: Course, component: str, slug: str | None) -> float:
    """The maximum used when a row leaves max_points empty."""
    if component == "written":
        return float(course.module(slug or "").written_points)
    if component == "module_report":
        return MODULE_REPORT_MAX
    if component == "presentation":
        return PRESENTATION_MAX
    return float(course.bonus_cap)


def _num(value: float) -> str:
    """A number as a CSV cell: 2 rather than 2.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def template(engine: Engine, course: Course, component: str, slug: str | None = None) -> str:
    """The CSV a grader fills in: one row per student, points empty, max_points prefilled.

    Columns: student_id, name, [slug,] points, max_points, comment (slug only for the
    per-module components written and module_report). Bonus leaves max_points empty (the
    config's bonus_cap applies).
    """
    _check_component(course, component, slug)
    with Session(engine) as session:
        students = session.execute(select(Student.id, Student.name).order_by(Student.id)).all()
    per_module = component in PER_MODULE
    header = ["student_id", "name"] + (["slug"] if per_module else []) + \
             ["points", "max_points", "comment"]
    maximum = "" if component == "bonus" else _num(default_max(course, component, slug))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for sid, name in students:
        writer.writerow([sid, name] + ([slug] if per_module else []) + ["", maximum, ""])
    return out.getvalue()


# --- import ---------------------------------------------------------------------------
def parse_number(cell: str) -> float | None:
    """A finite float from a cell ("1.5" or "1,5"); None when it is not one."""
    text = cell.strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_scores(path: Path, course: Course, component: str, slug: str | None,
                known_students: set[str]) -> list[ScoreRow]:
    """Parse and validate the whole file; UserError naming the file, line and fix otherwise.

    Rows with an empty points cell are not returned (not graded yet).
    """
    if component not in COMPONENTS:
        raise UserError(f"unknown component {component!r}; use one of {', '.join(COMPONENTS)}")
    if component in COURSE_WIDE and slug:
        raise UserError(f"component {component} is not per module; leave out --slug {slug}")
    if slug:
        course.module(slug)
    header, records = read_csv(path, "the scores")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; the header must "
                        f"include student_id and points (optionally name, slug, max_points, "
                        f"comment); `course scores template` writes one")
    per_module = component in PER_MODULE
    known_slugs = [m.slug for m in course.modules]
    rows: list[ScoreRow] = []
    first_line: dict[tuple[str, str | None], int] = {}
    for line, rec in records:
        if not any(rec.values()):
            continue  # a blank row such as ",,,,"
        sid = rec.get("student_id", "")
        if not sid:
            raise UserError(f"{path} line {line}: empty student_id; fill it in or delete the row")
        if sid not in known_students:
            raise UserError(f"{path} line {line}: unknown student id {sid!r}; fix the id or "
                            f"add the student with `course roster import`")
        row_slug = rec.get("slug", "") or None
        if per_module:
            if row_slug is None:
                row_slug = slug
            if row_slug is None:
                raise UserError(f"{path} line {line}: no module for {component}; fill the slug "
                                f"column or pass --slug")
            if row_slug not in known_slugs:
                raise UserError(f"{path} line {line}: unknown module slug {row_slug!r}; "
                                f"course_config.py lists: {', '.join(known_slugs)}")
            if slug and row_slug != slug:
                raise UserError(f"{path} line {line}: slug {row_slug!r} differs from --slug "
                                f"{slug}; import one module per file or leave out --slug")
        elif row_slug is not None:
            raise UserError(f"{path} line {line}: {component} is not per module; empty the "
                            f"slug cell ({row_slug!r})")
        cell = rec.get("points", "")
        if cell == "":
            continue  # not graded yet
        points = parse_number(cell)
        if points is None:
            raise UserError(f"{path} line {line}: points {cell!r} is not a number; write e.g. "
                            f"7 or 7.5 (or leave it empty if not graded yet)")
        if points < 0:
            raise UserError(f"{path} line {line}: points {cell} is negative; points must be >= 0")
        standard = default_max(course, component, row_slug)
        max_cell = rec.get("max_points", "")
        if max_cell == "":
            maximum = standard
        else:
            parsed = parse_number(max_cell)
            if parsed is None or parsed < 0:
                raise UserError(f"{path} line {line}: max_points {max_cell!r} is not a number "
                                f">= 0; fix it or leave it empty for the default "
                                f"({_num(standard)})")
            maximum = parsed
        if component == "written" and not math.isclose(maximum, standard):
            raise UserError(f"{path} line {line}: max_points {max_cell} for written differs "
                            f"from written_points = {_num(standard)} of module {row_slug} in "
                            f"course_config.py; use {_num(standard)} or fix the config")
        if points > maximum + 1e-9:
            raise UserError(f"{path} line {line}: points {cell} exceed max_points "
                            f"{_num(maximum)}; fix the points or the maximum")
        key = (sid, row_slug)
        if key in first_line:
            where = f" / {row_slug}" if row_slug else ""
            raise UserError(f"{path} line {line}: duplicate score for {sid}{where} (first on "
                            f"line {first_line[key]}); each student appears once per module")
        first_line[key] = line
        rows.append(ScoreRow(line, sid, row_slug, points, maximum, rec.get("comment", "")))
    return rows


def _entity(student: str, component: str, slug: str | None) -> str:
    where = f" / {slug}" if slug else ""
    return f"student {student}{where} / {component}"


def import_scores(engine: Engine, course: Course, path: Path, component: str,
                  slug: str | None = None, grader: str = "", *, by: str | None = None) -> int:
    """Validate the whole file, then store the changed scores in one transaction.

    Returns the number of scores written (new or changed); each one also gets an audit
    entry with the old and new points. Nothing is written if any row is bad.
    """
    with Session(engine) as session:
        known = set(session.scalars(select(Student.id)))
    rows = read_scores(path, course, component, slug, known)
    changed = 0
    with Session(engine) as session, session.begin():
        current: dict[tuple[str, str | None], ManualScore] = {}
        for score in session.scalars(select(ManualScore).where(ManualScore.component == component)
                                     .order_by(ManualScore.id)):
            current[(score.student_id, score.slug)] = score  # the newest wins
        for row in rows:
            old = current.get((row.student_id, row.slug))
            if old is not None and math.isclose(old.points, row.points) \
                    and math.isclose(old.max_points, row.max_points) and old.comment == row.comment:
                continue
            session.add(ManualScore(student_id=row.student_id, component=component, slug=row.slug,
                                    points=row.points, max_points=row.max_points, grader=grader,
                                    comment=row.comment, source=f"{path} line {row.line}"))
            audit(session, "manual_score", _entity(row.student_id, component, row.slug),
                  component=component, slug=row.slug,
                  old_points=None if old is None else old.points, new_points=row.points,
                  old_max_points=None if old is None else old.max_points,
                  max_points=row.max_points, grader=grader, source=f"{path} line {row.line}",
                  by=by)
            changed += 1
    return changed


# --- overrides ------------------------------------------------------------------------
def _require_student(session: Session, student: str) -> None:
    if session.get(Student, student) is None:
        raise UserError(f"unknown student id {student!r}; check the id or add the student "
                        f"with `course roster import`")


def _counted_tests(course: Course, engine: Engine, student: str, slug: str
                   ) -> tuple[CountedResult, dict[str, Mapping[str, Any]]]:
    """The student's counted result of the module (graded) and its tests by name.

    UserError when the student has no submission or the counted attempt is not graded yet.
    """
    result = counted_result(course, engine, student, slug)
    if result is None:
        raise UserError(f"student {student} has no graded submission for module {slug!r}; "
                        f"collect and grade it first (`course collect`, `course grade`)")
    if not result.graded:
        raise UserError(f"student {student}'s counted attempt {result.attempt} of module "
                        f"{slug} is not graded yet; run `course grade {slug}` first")
    return result, {t["name"]: t for t in result.tests if "name" in t}


def override(engine: Engine, course: Course, student: str, slug: str, test_name: str,
             points: float, reason: str, *, by: str | None = None) -> None:
    """Set one test's points for one student's module (a regrade), with an audit entry.

    The test must be one of the counted result's run (`gradebook.results`); the audit
    entry names that run.
    """
    reason = (reason or "").strip()
    if not reason:
        raise UserError("an override needs a reason (--reason); it is kept in the audit log")
    with Session(engine) as session:
        _require_student(session, student)
    result, tests = _counted_tests(course, engine, student, slug)
    if test_name not in tests:
        raise UserError(f"module {slug} has no test {test_name!r} in {student}'s counted "
                        f"result (attempt {result.attempt}); tests: "
                        f"{', '.join(tests) or '(none)'}")
    maximum = float(tests[test_name].get("max_score", 0.0))
    if not (isinstance(points, (int, float)) and math.isfinite(points)) \
            or not 0 <= points <= maximum:
        raise UserError(f"points {points:g} for {test_name} must be between 0 and its "
                        f"max_score {maximum:g}")
    old = float(tests[test_name].get("score", 0.0))  # the newest override, if any, applied
    with Session(engine) as session, session.begin():
        session.add(Override(student_id=student, slug=slug, test_name=test_name,
                             points=float(points), reason=reason))
        audit(session, "override", f"student {student} / {slug}", test=test_name,
              old_points=old, new_points=float(points), max_score=maximum, reason=reason,
              grading_run=result.run_id, by=by)


def apply_overrides(engine: Engine, course: Course) -> dict[tuple[str, str], float]:
    """Autograded points the overrides add per (student_id, slug), in the counted results.

    Pairs whose counted result is pending or has no applied override are left out.
    """
    return {key: result.override_delta
            for key, result in counted_results(course, engine, with_tests=False).items()
            if result.overrides}


# --- extensions -----------------------------------------------------------------------
def extend(engine: Engine, student: str, slug: str, days: int, reason: str = "", *,
           by: str | None = None) -> None:
    """Give a student `days` more days on a module (extensions of a module add up)."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise UserError(f"--days must be a whole number >= 1 (got {days!r})")
    with Session(engine) as session, session.begin():
        _require_student(session, student)
        if session.get(Module, slug) is None:
            known = ", ".join(session.scalars(select(Module.slug).order_by(Module.slug)))
            raise UserError(f"unknown module {slug!r}; the gradebook lists: {known or '(none)'}")
        session.add(Extension(student_id=student, slug=slug, days=days, reason=reason))
        audit(session, "extension", f"student {student} / {slug}", days=days, reason=reason,
              by=by)
