"""Student feedback as data, and what staff have published to students.

A student's feedback on one module is a `FeedbackView` (frozen dataclasses, no HTML):
`feedback_view` builds it for one student, `write_feedback` for every student with a
submission, and a renderer outside the gradebook turns it into HTML
(`app/feedback_pages.py`: the templates `app/web/templates/feedback/`, the same fragment
for the static export of `course feedback SLUG` and for the student web page).

The autograded part comes from the result that counts (`gradebook.results`: the counted
attempt's graded run with the overrides applied; an overridden test is "regraded"). A
student whose counted attempt is not graded yet gets the state "pending", one without a
submission "none". Visibility follows docs/architecture.md, "The result format":

- `visible` tests show name, points and message;
- `after_due_date` tests the same once the module's due time (due date at `due_time` in
  the course timezone, moved by the student's extensions) has passed; before that, the
  view only counts them (`Withheld`);
- `after_published` tests the same once the module's test results are published
  (`publish`); before that, only counted;
- `hidden` tests only as one aggregate of points (`HiddenLine`: never a name or a message).

Tests that are not shown yet do not count in the score of the view, so their points
cannot be read off the total either. The suite's code is never part of a view: messages
are the short texts the plugin wrote for the student, and the results' top-level `output`
is not used (the view rebuilds its sections from `extra_data`).

Student text (autograder/core/student_text.py) is cleaned of control and format
characters; a message is a list of `TextPart`s, and the parts quoted from the student's
code (`student=True`) are shown apart from the page's own text (in a
`<pre class="student-text">` under the label "your code's message:"); the renderer
escapes everything. The score is computed from the tests' numbers.

Three publications, each idempotent and audited (`by`: the web app's signed-in
instructor, else the login name):

- `publish(engine, slug)`: the module's test results (`after_published` tests show);
  table `published_modules` (`PublishedModule`);
- `publish_written(engine, slug)`: the module's written scores; the view then carries,
  per graded written question, its points, the applied rubric items' texts (what the
  student sees, never the grader notes), the adjustment and the comment, and the module's
  written total; before that one line says they are not published yet;
- `publish_final(engine)`: the final grades (`final_view`: the percentage and grade of
  `course final`, None before publication).

The last two live in the `publications` table (`Publication`, kind "written" per module,
kind "final" with slug "").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Literal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.core.student_text import clean, one_line, quoted_segments, student_block
from autograder.plugin.results import section_items, split_load_error
from gradebook.aggregate import due_datetime
from gradebook.export import gradebook_view
from gradebook.marking import student_grades
from gradebook.models import ManualScore, Module, Publication, PublishedModule, Student
from gradebook.queues import queue_title
from gradebook.results import AttemptPolicy, CountedResult, counted_results
from gradebook.store import actor, audit

WRITTEN = "written"
FINAL = "final"


# --- publication ---------------------------------------------------------------

def publish(engine: Engine, slug: str, *, by: str | None = None) -> bool:
    """Mark the module's test results as published; True if they were not before.

    Idempotent: publishing again changes nothing and writes no second audit entry.
    """
    with Session(engine) as session, session.begin():
        _known_module(session, slug)
        if session.get(PublishedModule, slug) is not None:
            return False
        session.add(PublishedModule(slug=slug, published_by=by or actor()))
        audit(session, "publish", f"module {slug}", by=by, slug=slug)
    return True


def is_published(engine: Engine, slug: str) -> bool:
    """Whether staff have published the module's test results."""
    with Session(engine) as session:
        return session.get(PublishedModule, slug) is not None


def publish_written(engine: Engine, slug: str, *, by: str | None = None) -> bool:
    """Release the module's written scores (items and comments); True if new. Idempotent."""
    with Session(engine) as session, session.begin():
        _known_module(session, slug)
        return _publish(session, WRITTEN, slug, f"module {slug}", by)


def is_published_written(engine: Engine, slug: str) -> bool:
    """Whether staff have released the module's written scores."""
    with Session(engine) as session:
        return session.get(Publication, (WRITTEN, slug)) is not None


def publish_final(engine: Engine, *, by: str | None = None) -> bool:
    """Release the final grades; True if they were not released before. Idempotent."""
    with Session(engine) as session, session.begin():
        return _publish(session, FINAL, "", "course", by)


def is_published_final(engine: Engine) -> bool:
    """Whether staff have released the final grades."""
    with Session(engine) as session:
        return session.get(Publication, (FINAL, "")) is not None


def _known_module(session: Session, slug: str) -> None:
    if session.get(Module, slug) is None:
        raise UserError(f"unknown module {slug!r} in the gradebook; is it in course_config.py?")


def _publish(session: Session, kind: str, slug: str, entity: str, by: str | None) -> bool:
    if session.get(Publication, (kind, slug)) is not None:
        return False
    session.add(Publication(kind=kind, slug=slug, published_by=by or actor()))
    audit(session, f"publish_{kind}", entity, by=by, kind=kind, slug=slug or None)
    return True


# --- the view --------------------------------------------------------------------

State = Literal["graded", "pending", "none"]
STUDENT_LABEL = "your code's message:"


@dataclass(frozen=True)
class TextPart:
    """A piece of a message, cleaned: the grader's text, or (student=True) text quoted
    from the student's code, which a page shows apart under STUDENT_LABEL."""

    text: str
    student: bool = False


@dataclass(frozen=True)
class ShownTest:
    """A test the student may see."""

    name: str
    status: str  # "passed", "failed", ... ("?" when the result has none)
    points: float
    max_points: float
    message: tuple[TextPart, ...]
    regraded: bool  # an override changed its points

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class HiddenLine:
    """The hidden tests, only as a sum of points."""

    count: int
    points: float
    max_points: float


@dataclass(frozen=True)
class Withheld:
    """How many tests of one visibility are not shown yet, and when they will show."""

    visibility: str  # "after_due_date" | "after_published"
    count: int
    when: str  # "after the due date" | "once the results are published"


@dataclass(frozen=True)
class NoteSection:
    """A list from the result's extra_data (dropped cells, load errors, ...)."""

    key: str
    heading: str
    explanation: str
    items: tuple[tuple[TextPart, ...], ...]


@dataclass(frozen=True)
class WrittenQuestion:
    """One graded written question as the student sees it (never the grader notes)."""

    title: str
    points: float
    max_points: float
    items: tuple[str, ...]  # the applied rubric items' texts
    adjustment: float
    comment: str


@dataclass(frozen=True)
class WrittenView:
    """The module's written scores: `published` False means nothing else is filled in."""

    published: bool
    questions: tuple[WrittenQuestion, ...] = ()
    total: float | None = None  # the module's written score that counts (None: none yet)
    max_total: float = 0.0


@dataclass(frozen=True)
class FinalView:
    """The student's final grade as `course final` computes it."""

    percent: float
    grade: str  # "" when the course has no grade scale


@dataclass(frozen=True)
class FeedbackView:
    """Everything a page of feedback on one module shows one student, ready to render."""

    student_id: str
    student_name: str
    course_name: str
    slug: str
    module_title: str
    state: State
    due: datetime
    due_text: str  # in the course timezone, e.g. "2026-10-19 23:59 CEST"
    extension_days: int = 0
    late_factor: float | None = None  # None: not known (no counted attempt)
    attempt: int | None = None
    submitted_text: str = ""
    score: float = 0.0  # of the shown and hidden tests only
    max_score: float = 0.0
    tests: tuple[ShownTest, ...] = ()
    hidden: HiddenLine | None = None
    withheld: tuple[Withheld, ...] = ()
    sections: tuple[NoteSection, ...] = ()
    timed_out: bool = False
    written: WrittenView | None = None  # None: not part of this view
    final: FinalView | None = None  # None: not published (or not part of this view)

    @property
    def who(self) -> str:
        return f"{self.student_name} ({self.student_id})" if self.student_name \
            else self.student_id

    @property
    def complete(self) -> bool:
        """False while some tests are not shown yet (the score is "so far")."""
        return not self.withheld


def module_due(course: Course, slug: str, extension_days: int = 0) -> datetime:
    """The due instant: due date (+ extension days, calendar days) at due_time, course zone."""
    return due_datetime(course, slug, extension_days).to_pydatetime()


_SECTIONS = (
    ("dropped_cells", "Left out of grading",
     "Only imports, def, class and constants are graded; these statements were not run."),
    ("extraction_problems", "Problems with answer cells", ""),
    ("integrity_flags", "Integrity notes", "Staff will look at these."),
    ("load_errors", "Cells that failed when loaded", ""),
)
_WHEN = {"after_due_date": "after the due date",
         "after_published": "once the results are published"}


def message_parts(text: str) -> tuple[TextPart, ...]:
    """A feedback text as parts: the grader's lines, and each quoted student block
    (student=True); all of it cleaned; empty grader parts are left out."""
    parts = []
    for student, segment in quoted_segments(text):
        if student:
            parts.append(TextPart(clean(segment), True))
        elif clean(segment):
            parts.append(TextPart(clean(segment)))
    return tuple(parts)


def _item_parts(key: str, item: str) -> tuple[TextPart, ...]:
    """One listed item of extra_data: a load error shows its cell, then the error the
    student's code raised as student text; other items are one line of grader text."""
    label, detail = split_load_error(item) if key == "load_errors" else (None, item)
    if label is None:
        return (TextPart(one_line(detail, 500)),)
    return message_parts(f"{one_line(label, 120)}:\n"
                         f"{student_block(detail, max_chars=500, max_lines=6)}")


def _number(value: Any) -> float:
    try:
        number = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _student_label(student: Student | str) -> tuple[str, str]:
    if isinstance(student, str):
        return student, ""
    return student.id, student.name or ""


def _due_text(course: Course, due: datetime) -> str:
    return due.astimezone(course.tz).strftime("%Y-%m-%d %H:%M %Z")


def result_view(course: Course, student: Student | str, slug: str, result: dict[str, Any],
                now: datetime, published: bool, extension_days: int = 0, *,
                late_factor: float | None = None, attempt: int | None = None,
                written: WrittenView | None = None,
                final: FinalView | None = None) -> FeedbackView:
    """The view of one grading result (state "graded"), without reading the gradebook.

    `student` is a `Student` row or a student id; `now` is compared with the module's due
    instant (a naive `now` is taken as UTC); `extension_days` moves the due date for this
    student; `published`: whether the module's test results are published.
    """
    spec = course.module(slug)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    due = module_due(course, slug, extension_days)
    past_due = now > due
    sid, name = _student_label(student)

    shown: list[ShownTest] = []
    hidden_n, hidden_score, hidden_max = 0, 0.0, 0.0
    withheld = {"after_due_date": 0, "after_published": 0}
    for test in result.get("tests") or []:
        vis = test.get("visibility") or "visible"
        if vis == "visible" or (vis == "after_due_date" and past_due) \
                or (vis == "after_published" and published):
            shown.append(ShownTest(
                name=one_line(str(test.get("name", "")), 200),
                status=clean(str(test.get("status") or "")) or "?",
                points=_number(test.get("score")), max_points=_number(test.get("max_score")),
                message=message_parts(str(test.get("output") or "")),
                regraded=bool(test.get("override"))))
        elif vis in withheld:
            withheld[vis] += 1
        else:  # "hidden", and anything unknown is treated as hidden
            hidden_n += 1
            hidden_score += _number(test.get("score"))
            hidden_max += _number(test.get("max_score"))

    extra = result.get("extra_data") or {}
    sections = []
    for key, heading, explanation in _SECTIONS:
        items = section_items(extra.get(key))
        if items:
            sections.append(NoteSection(key, heading, explanation,
                                        tuple(_item_parts(key, item) for item in items)))
    return FeedbackView(
        student_id=sid, student_name=name, course_name=course.name, slug=slug,
        module_title=spec.title, state="graded", due=due, due_text=_due_text(course, due),
        extension_days=extension_days, late_factor=late_factor, attempt=attempt,
        score=sum(t.points for t in shown) + hidden_score,
        max_score=sum(t.max_points for t in shown) + hidden_max,
        tests=tuple(shown),
        hidden=HiddenLine(hidden_n, hidden_score, hidden_max) if hidden_n else None,
        withheld=tuple(Withheld(vis, n, _WHEN[vis]) for vis, n in withheld.items() if n),
        sections=tuple(sections), timed_out=bool(extra.get("timed_out")),
        written=written, final=final)


def _view(course: Course, student: Student | str, slug: str, counted: CountedResult | None,
          now: datetime, published: bool, written: WrittenView | None,
          final: FinalView | None) -> FeedbackView:
    if counted is not None and counted.graded:
        return result_view(course, student, slug, dict(counted.result or {}), now, published,
                           counted.extension_days, late_factor=counted.late_factor,
                           attempt=counted.attempt, written=written, final=final)
    sid, name = _student_label(student)
    extension = counted.extension_days if counted is not None else 0
    due = module_due(course, slug, extension)
    common = dict(student_id=sid, student_name=name, course_name=course.name, slug=slug,
                  module_title=course.module(slug).title, due=due,
                  due_text=_due_text(course, due), extension_days=extension,
                  written=written, final=final)
    if counted is None:
        return FeedbackView(state="none", **common)
    return FeedbackView(state="pending", late_factor=counted.late_factor,
                        attempt=counted.attempt,
                        submitted_text=_due_text(course, counted.submitted_at), **common)


# --- written scores and final grades ----------------------------------------------

def written_view(course: Course, engine: Engine, student_id: str, slug: str,
                 published: bool | None = None) -> WrittenView:
    """The student's written scores of the module; only `published=False` before
    `publish_written` (`published` None: look it up)."""
    if published is None:
        published = is_published_written(engine, slug)
    if not published:
        return WrittenView(False)
    questions = tuple(
        WrittenQuestion(title=queue_title(course, g.queue), points=_number(g.grade.points),
                        max_points=_number(g.queue.points), items=g.items,
                        adjustment=_number(g.grade.adjustment), comment=g.grade.comment or "")
        for g in student_grades(engine, student_id)
        if g.queue.component == WRITTEN and g.queue.slug == slug and g.grade.points is not None)
    with Session(engine) as session:
        newest = session.scalars(select(ManualScore).where(
            ManualScore.student_id == student_id, ManualScore.component == WRITTEN,
            ManualScore.slug == slug).order_by(ManualScore.id.desc()).limit(1)).first()
    maximum = float(course.module(slug).written_points)
    if newest is None:
        total = sum(q.points for q in questions) if questions else None
        return WrittenView(True, questions, total, maximum)
    return WrittenView(True, questions, float(newest.points), float(newest.max_points))


def final_grades_view(course: Course, engine: Engine) -> dict[str, FinalView]:
    """student_id -> final grade (the numbers of `course final`); {} before publication."""
    if not is_published_final(engine):
        return {}
    table = gradebook_view(course, engine).table
    out = {}
    for sid, final, grade in zip(table.index, table["final"], table["grade"]):
        out[str(sid)] = FinalView(_number(final), grade if isinstance(grade, str) else "")
    return out


def final_view(course: Course, engine: Engine, student_id: str) -> FinalView | None:
    """The student's final percentage and grade, or None before `publish_final`."""
    return final_grades_view(course, engine).get(student_id)


def feedback_view(course: Course, engine: Engine, student_id: str, slug: str,
                  now: datetime | None = None,
                  policy: AttemptPolicy | None = None) -> FeedbackView:
    """One student's feedback on one module: state "graded", "pending" or "none"."""
    course.module(slug)
    with Session(engine) as session:
        student = session.get(Student, student_id)
        if student is None:
            raise UserError(f"there is no student {student_id!r} in the roster")
        session.expunge(student)
    counted = counted_results(course, engine, slug, student=student_id,
                              policy=policy).get((student_id, slug))
    return _view(course, student, slug, counted, now or datetime.now(timezone.utc),
                 is_published(engine, slug), written_view(course, engine, student_id, slug),
                 final_view(course, engine, student_id))


# --- writing pages ----------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _file_name(student_id: str) -> str:
    name = _SAFE.sub("_", student_id)
    return f"{name if name.strip('.') else '_'}.html"


@dataclass(frozen=True)
class FeedbackPages:
    """The pages one `write_feedback` wrote: with results, and saying "being graded"."""

    graded: list[Path]
    pending: list[Path]


def _write(path: Path, page: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def write_feedback(course: Course, engine: Engine, slug: str, out_dir: Path,
                   now: datetime | None = None,
                   policy: AttemptPolicy | None = None, *,
                   render: Callable[[FeedbackView], str]) -> FeedbackPages:
    """Write `render(view)` as `<student_id>.html` for every student with a submission.

    The view shows the result that counts under `policy`; while the counted attempt is
    not graded yet, it is "pending". Students without a submission get no page. `render`
    turns a view into a page (`app.feedback_pages.render_feedback_page`).
    """
    course.module(slug)
    now = now or datetime.now(timezone.utc)
    published = is_published(engine, slug)
    written = is_published_written(engine, slug)
    finals = final_grades_view(course, engine)
    counted = {sid: r for (sid, _), r in counted_results(course, engine, slug,
                                                          policy=policy).items()}
    with Session(engine) as session:
        students = {s.id: s for s in session.scalars(select(Student).where(
            Student.id.in_(list(counted))))}
        session.expunge_all()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graded: list[Path] = []
    pending: list[Path] = []
    for sid, result in counted.items():
        view = _view(course, students.get(sid, sid), slug, result, now, published,
                     written_view(course, engine, sid, slug, written), finals.get(sid))
        path = _write(out_dir / _file_name(sid), render(view))
        (graded if result.graded else pending).append(path)
    return FeedbackPages(graded, pending)
