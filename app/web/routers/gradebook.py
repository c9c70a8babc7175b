"""The gradebook for staff: every student's grades, one student's record, module statistics.

Teaching assistants (`Staff`) read every page; only the instructor (`Instructor`) posts
the forms (override, extension, publish) and downloads the exports. Every number comes
from the functions the CLI uses: the table from `gradebook.export.gradebook_view` (the
`final_grades` of `course final`), the files from `gradebook.export.export_text` (the bytes
`course export` writes), the statistics and plots from `gradebook.stats` (`course stats`),
the changes from `gradebook.scores.override` / `extend` and `gradebook.feedback.publish`,
`publish_written` and `publish_final`, with the signed-in instructor's email as the audit
entry's `by`.

- `GET /gradebook` (`?q=` filters by student id or name without JavaScript; `table.js`
  sorts by a click on a column header and filters as you type).
- `GET /gradebook/students/{id}`: attempts, grading runs, overrides, extensions, manual
  scores and the audit trail (newest first); the instructor's forms.
- `GET /gradebook/modules/{slug}/stats`: per-test pass rates, the score summary and the
  plots (PNG, embedded as data: URLs, which the CSP's `img-src 'self' data:` allows).
- `GET /gradebook/export/{csv|moodle|canvas}`: the file as an attachment.
- `POST .../override`, `.../extensions`, `/gradebook/modules/{slug}/publish` (test results),
  `/gradebook/modules/{slug}/publish-written` (written scores), `/gradebook/publish-final`
  (final grades): a bad value re-renders the page with one line and a 4xx; success is a
  303 back with `?done=`.
"""

from __future__ import annotations

import base64
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.web.deps import CourseDep, EngineDep, Instructor, Staff
from app.web.pages import course_time, render
from app.web.security import csrf_protect
from autograder.config import ConfigError, Course, ModuleSpec
from autograder.core.errors import UserError
from gradebook.aggregate import late_factor
from gradebook.export import FORMATS, default_name, export_text, gradebook_view
from gradebook.feedback import (is_published, is_published_final, is_published_written, publish,
                                publish_final, publish_written)
from gradebook.marking import student_grades
from gradebook.models import (AuditEntry, Extension, GradingRun, ManualScore, Override, Student,
                              Submission)
from gradebook.queues import queue_title
from gradebook.results import CountedResult, counted_results
from gradebook.scores import extend, override, parse_number
from gradebook.stats import module_stats, score_summary, write_plots

router = APIRouter(prefix="/gradebook", dependencies=[Depends(csrf_protect)])

TextField = Annotated[str, Form(max_length=2000)]
PARTS = ("autograded", "written", "module_report")  # columns of module_breakdown shown
DONE = {"override": "The override is saved.", "extension": "The extension is saved.",
        "publish": "The module is published.", "published": "The module was published already.",
        "publish-written": "The written scores are published.",
        "published-written": "The written scores were published already.",
        "publish-final": "The final grades are published.",
        "published-final": "The final grades were published already."}


# --- helpers ----------------------------------------------------------------------------

def _module(course: Course, slug: str) -> ModuleSpec:
    """The module's spec; a 404 naming the course's modules otherwise."""
    try:
        return course.module(slug)
    except ConfigError:
        known = ", ".join(m.slug for m in course.modules)
        raise HTTPException(404, f"there is no module {slug!r}; the course has: {known}") from None


def _student(engine: Engine, student_id: str) -> Student:
    """The roster student; a 404 saying where to look otherwise."""
    with Session(engine) as session:
        found = session.get(Student, student_id)
    if found is None:
        raise HTTPException(404, f"there is no student {student_id!r} in the roster; pick one "
                                 f"from the gradebook")
    return found


def _matches(query: str, *texts: str) -> bool:
    needle = query.strip().casefold()
    return not needle or any(needle in (text or "").casefold() for text in texts)


def _number(text: str, what: str) -> float:
    """A finite number from a form field; UserError saying what to type otherwise."""
    value = parse_number(text)
    if value is None:
        raise UserError(f"{what} {text.strip()!r} is not a number; type e.g. 7 or 7.5")
    return value


def _whole(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise UserError(f"{what} {text.strip()!r} is not a whole number; type e.g. 3") from None


# --- the gradebook table ----------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = True


@dataclass
class GradebookRow:
    student_id: str
    name: str
    cells: dict[str, Any] = field(default_factory=dict)


def _columns(course: Course) -> list[Column]:
    cols = [Column("student_id", "Student", False), Column("name", "Name", False)]
    for spec in course.modules:
        cols += [Column(f"{spec.slug}:autograded", f"{spec.slug} autograded"),
                 Column(f"{spec.slug}:written", f"{spec.slug} written"),
                 Column(f"{spec.slug}:module_report", f"{spec.slug} report"),
                 Column(spec.slug, f"{spec.slug} %")]
    return cols + [Column("report", "Modules %"), Column("presentation", "Presentation %"),
                   Column("bonus", "Bonus"), Column("final", "Final %"),
                   Column("grade", "Grade", False)]


def _rows(course: Course, engine: Engine, query: str) -> list[GradebookRow]:
    view = gradebook_view(course, engine)
    parts = view.parts[list(PARTS)].to_dict("index")
    rows = []
    for sid, record in zip(view.table.index, view.table.to_dict("records")):
        if not _matches(query, str(sid), str(record["name"])):
            continue
        row = GradebookRow(str(sid), str(record["name"]))
        for spec in course.modules:
            for component in PARTS:
                row.cells[f"{spec.slug}:{component}"] = float(parts[(sid, spec.slug)][component])
            row.cells[spec.slug] = float(record[spec.slug])
        for key in ("report", "presentation", "bonus", "final"):
            row.cells[key] = float(record[key])
        grade = record["grade"]
        row.cells["grade"] = grade if isinstance(grade, str) else ""
        rows.append(row)
    return rows


@router.get("")
def gradebook_page(request: Request, me: Staff, course: CourseDep, engine: EngineDep,
                   q: str = "", done: str | None = None) -> Response:
    return render(request, "gradebook/index.html", title="Gradebook", q=q,
                  columns=_columns(course), rows=_rows(course, engine, q),
                  modules=course.modules, formats=FORMATS,
                  final_published=is_published_final(engine), done=DONE.get(done or ""))


@router.post("/publish-final")
def post_publish_final(request: Request, me: Instructor, engine: EngineDep) -> Response:
    done = "publish-final" if publish_final(engine, by=me.email) else "published-final"
    return RedirectResponse(f"/gradebook?done={done}", status_code=303)


# --- one student ------------------------------------------------------------------------

@dataclass
class AttemptView:
    submission: Submission
    late_factor: float | None
    counted: bool
    runs: list[GradingRun]


@dataclass
class ModuleRecord:
    spec: ModuleSpec
    attempts: list[AttemptView]
    result: CountedResult | None


@dataclass
class StudentRecord:
    student: Student
    modules: list[ModuleRecord]
    overrides: list[Override]
    extensions: list[Extension]
    manual: list[ManualScore]
    audit: list[AuditEntry]


def _audit_about(session: Session, student_id: str, notebooks: list[str]) -> list[AuditEntry]:
    """Entries naming the student, and the grading of the student's notebooks; newest first."""
    me = f"student {student_id}"
    about = [AuditEntry.entity == me, AuditEntry.entity.startswith(f"{me} /", autoescape=True)]
    about += [AuditEntry.entity == f"notebook {sha[:12]} / {slug}"
              for slug, sha in set(notebooks)]
    return list(session.scalars(select(AuditEntry).where(or_(*about))
                                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())))


def _student_record(course: Course, engine: Engine, student: Student) -> StudentRecord:
    sid = student.id
    counted = {slug: r for (_, slug), r in counted_results(course, engine, student=sid).items()}
    with Session(engine) as session:
        subs = list(session.scalars(select(Submission).where(Submission.student_id == sid)
                                    .order_by(Submission.slug, Submission.attempt)))
        shas = {s.sha256 for s in subs}
        runs = list(session.scalars(select(GradingRun).where(GradingRun.sha256.in_(shas))
                                    .order_by(GradingRun.created_at, GradingRun.id)))
        overrides = list(session.scalars(select(Override).where(Override.student_id == sid)
                                         .order_by(Override.id.desc())))
        extensions = list(session.scalars(select(Extension).where(Extension.student_id == sid)
                                          .order_by(Extension.id.desc())))
        manual = list(session.scalars(select(ManualScore).where(ManualScore.student_id == sid)
                                      .order_by(ManualScore.id.desc())))
        audit = _audit_about(session, sid, [(s.slug, s.sha256) for s in subs])
    modules = []
    for spec in course.modules:
        result = counted.get(spec.slug)
        attempts = [AttemptView(
            sub, None if result is None else late_factor(course, sub.submitted_at, result.due),
            result is not None and result.submission_id == sub.id,
            [r for r in runs if r.slug == sub.slug and r.sha256 == sub.sha256])
            for sub in subs if sub.slug == spec.slug]
        modules.append(ModuleRecord(spec, attempts, result))
    return StudentRecord(student, modules, overrides, extensions, manual, audit)


def _student_page(request: Request, course: Course, engine: Engine, student: Student,
                  status_code: int = 200, error: str | None = None,
                  done: str | None = None, form: dict[str, str] | None = None) -> Response:
    return render(request, "gradebook/student.html", status_code=status_code,
                  title=f"{student.id} · {student.name}",
                  record=_student_record(course, engine, student), when=course_time(course),
                  by_question=[(queue_title(course, g.queue), g)
                               for g in student_grades(engine, student.id)],
                  modules=course.modules, error=error, done=DONE.get(done or ""),
                  form=form or {})


def _back_to(student: Student, done: str) -> Response:
    """303 to the student's page, which then confirms `done`."""
    return RedirectResponse(f"/gradebook/students/{quote(student.id, safe='')}?done={done}",
                            status_code=303)


@router.get("/students/{student_id}")
def student_page(request: Request, me: Staff, course: CourseDep, engine: EngineDep,
                 student_id: str, done: str | None = None) -> Response:
    return _student_page(request, course, engine, _student(engine, student_id), done=done)


@router.post("/students/{student_id}/override")
def post_override(request: Request, me: Instructor, course: CourseDep, engine: EngineDep,
                  student_id: str, slug: TextField, test: TextField, points: TextField,
                  reason: TextField = "") -> Response:
    student = _student(engine, student_id)
    try:
        course.module(slug)
        override(engine, course, student.id, slug, test.strip(), _number(points, "points"),
                 reason, by=me.email)
    except UserError as exc:
        return _student_page(request, course, engine, student, 400, error=str(exc),
                             form={"slug": slug, "test": test, "points": points,
                                   "reason": reason})
    return _back_to(student, "override")


@router.post("/students/{student_id}/extensions")
def post_extension(request: Request, me: Instructor, course: CourseDep, engine: EngineDep,
                   student_id: str, slug: TextField, days: TextField,
                   reason: TextField = "") -> Response:
    student = _student(engine, student_id)
    try:
        course.module(slug)
        extend(engine, student.id, slug, _whole(days, "days"), reason.strip(), by=me.email)
    except UserError as exc:
        return _student_page(request, course, engine, student, 400, error=str(exc),
                             form={"ext_slug": slug, "days": days, "ext_reason": reason})
    return _back_to(student, "extension")


# --- one module -------------------------------------------------------------------------

def _plots(course: Course, engine: Engine, slug: str) -> list[tuple[str, str]]:
    """(file name, data: URL) of every plot `course stats` writes for the module."""
    with tempfile.TemporaryDirectory(prefix="stats-") as folder:
        return [(path.name, "data:image/png;base64," + base64.b64encode(path.read_bytes())
                 .decode("ascii"))
                for path in write_plots(course, engine, slug, Path(folder))]


@router.get("/modules/{slug}/stats")
def stats_page(request: Request, me: Staff, course: CourseDep, engine: EngineDep, slug: str,
               done: str | None = None) -> Response:
    spec = _module(course, slug)
    per_test, scores = module_stats(course, engine, slug)
    summary = score_summary(scores)
    return render(request, "gradebook/stats.html", title=f"{spec.title}: statistics",
                  spec=spec, per_test=list(per_test.itertuples(index=False)),
                  count=len(scores), summary=summary, plots=_plots(course, engine, slug),
                  published=is_published(engine, slug),
                  written_published=is_published_written(engine, slug), done=DONE.get(done or ""),
                  isnan=math.isnan)


@router.post("/modules/{slug}/publish")
def post_publish(request: Request, me: Instructor, course: CourseDep, engine: EngineDep,
                 slug: str) -> Response:
    spec = _module(course, slug)
    changed = publish(engine, spec.slug, by=me.email)
    done = "publish" if changed else "published"
    return RedirectResponse(f"/gradebook/modules/{spec.slug}/stats?done={done}", status_code=303)


@router.post("/modules/{slug}/publish-written")
def post_publish_written(request: Request, me: Instructor, course: CourseDep, engine: EngineDep,
                         slug: str) -> Response:
    spec = _module(course, slug)
    changed = publish_written(engine, spec.slug, by=me.email)
    done = "publish-written" if changed else "published-written"
    return RedirectResponse(f"/gradebook/modules/{spec.slug}/stats?done={done}", status_code=303)


# --- exports ----------------------------------------------------------------------------

@router.get("/export/{kind}")
def export_file(request: Request, me: Instructor, course: CourseDep, engine: EngineDep,
                kind: str) -> Response:
    if kind not in FORMATS:
        raise HTTPException(404, f"there is no export {kind!r}; use one of: {', '.join(FORMATS)}")
    body = export_text(course, engine, kind).encode("utf-8")
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{default_name(course, kind)}"'})
