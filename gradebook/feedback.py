"""Student feedback pages and the module's "published" state.

`course feedback SLUG` writes one self-contained HTML page per student from the newest
grading run of the student's latest attempt; `course publish SLUG` marks a module's
results as published. Visibility follows docs/architecture.md, "The result format":

- `visible` tests show name, points and message;
- `after_due_date` tests the same once the module's due time (due date at `due_time` in
  the course timezone, moved by the student's extensions) has passed; before that, one
  line says how many there are;
- `after_published` tests the same once the module is published; before that, one line;
- `hidden` tests only as one aggregate line of points (never a name or a message).

Tests that are not shown yet do not count in the score shown on the page, so their
points cannot be read off the total either. The suite's code is never part of a page:
messages are the short texts the plugin wrote for the student, and the results'
top-level `output` is not used (the page rebuilds its sections from `extra_data`).

Student text (autograder/plugin/student_text.py) is cleaned of control and format
characters, escaped, and shown in a `<pre class="student-text">` under the label "your
code's message:", never as the page's own text; the score line is computed from the
tests' numbers.

The published state lives in the `published_modules` table (gradebook.models).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.plugin.results import section_items, split_load_error
from autograder.core.student_text import clean, one_line, quoted_segments, student_block
from gradebook.aggregate import due_datetime
from gradebook.models import (Extension, GradingRun, Module, PublishedModule, Student,
                              Submission)
from gradebook.store import actor, audit


# --- publication ---------------------------------------------------------------

def publish(engine: Engine, slug: str) -> bool:
    """Mark the module as published; True if it was not published before.

    Idempotent: publishing again changes nothing and writes no second audit entry.
    """
    with Session(engine) as session, session.begin():
        if session.get(Module, slug) is None:
            raise UserError(f"unknown module {slug!r} in the gradebook; is it in course_config.py?")
        if session.get(PublishedModule, slug) is not None:
            return False
        session.add(PublishedModule(slug=slug, published_by=actor()))
        audit(session, "publish", f"module {slug}", slug=slug)
    return True


def is_published(engine: Engine, slug: str) -> bool:
    """Whether staff have published the module's results."""
    with Session(engine) as session:
        return session.get(PublishedModule, slug) is not None


# --- the rows a page is built from ---------------------------------------------

@dataclass(frozen=True)
class LatestRun:
    """One student's latest attempt at a module and the newest grading run of its content."""

    student_id: str
    attempt: int
    sha256: str
    run: GradingRun  # detached; its plain columns (result, score, ...) are loaded


def latest_graded_runs(engine: Engine, slug: str) -> dict[str, LatestRun]:
    """Student id -> latest attempt's newest grading run; students without one are left out.

    The latest attempt is the highest attempt number. A content graded under several
    suite versions counts with its newest run (by creation time, then id).
    """
    with Session(engine, expire_on_commit=False) as session:
        subs = session.execute(select(Submission.student_id, Submission.attempt, Submission.sha256)
                               .where(Submission.slug == slug)).all()
        latest: dict[str, tuple[int, str]] = {}
        for sid, attempt, sha in subs:
            if sid not in latest or attempt > latest[sid][0]:
                latest[sid] = (attempt, sha)
        shas = {sha for _, sha in latest.values()}
        newest: dict[str, GradingRun] = {}
        if shas:
            runs = session.scalars(select(GradingRun).where(GradingRun.slug == slug,
                                                            GradingRun.sha256.in_(shas)))
            for run in sorted(runs, key=lambda r: (_aware(r.created_at), r.id)):
                newest[run.sha256] = run
        session.expunge_all()
    return {sid: LatestRun(sid, attempt, sha, newest[sha])
            for sid, (attempt, sha) in sorted(latest.items()) if sha in newest}


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def module_due(course: Course, slug: str, extension_days: int = 0) -> datetime:
    """The due instant: due date (+ extension days, calendar days) at due_time, course zone."""
    return due_datetime(course, slug, extension_days).to_pydatetime()


# --- rendering ------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .who { color: #555; margin-top: 0; }
.score { font-size: 1.4rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.pts { white-space: nowrap; text-align: right; }
tr.passed td.status { color: #17692b; } tr.failed td.status { color: #a31515; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-family: ui-monospace, monospace; font-size: .9rem; }
.note { color: #555; } .aggregate td { font-style: italic; }
section { margin-top: 1.2rem; }
.student-label { color: #6b5200; font-size: .8rem; font-style: italic; margin: .3rem 0 0; }
pre.student-text { background: #fff8e1; border-left: 3px solid #d9a400; padding: .2rem .5rem; }
"""
STUDENT_LABEL = "your code's message:"

_SECTIONS = (
    ("dropped_cells", "Left out of grading",
     "Only imports, def, class and constants are graded; these statements were not run."),
    ("extraction_problems", "Problems with answer cells", ""),
    ("integrity_flags", "Integrity notes", "Staff will look at these."),
    ("load_errors", "Cells that failed when loaded", ""),
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pts(x: Any) -> str:
    try:
        return f"{float(x):g}"
    except (TypeError, ValueError):
        return "?"


def _message_html(text: str) -> str:
    """A feedback text as HTML: the grader's lines in a <pre>, each quoted student block
    in a labelled <pre class="student-text">; all of it cleaned and escaped."""
    parts = []
    for student, segment in quoted_segments(text):
        if student:
            parts.append(f'<p class="student-label">{_e(STUDENT_LABEL)}</p>'
                         f'<pre class="student-text">{_e(clean(segment))}</pre>')
        elif clean(segment):
            parts.append(f"<pre>{_e(clean(segment))}</pre>")
    return "".join(parts)


def _item_html(key: str, item: str) -> str:
    """One listed item of extra_data: a load error shows its cell, then the error the
    student's code raised as student text; other items are one line of grader text."""
    label, detail = split_load_error(item) if key == "load_errors" else (None, item)
    if label is None:
        return f"<pre>{_e(one_line(detail, 500))}</pre>"
    return _message_html(f"{one_line(label, 120)}:\n"
                         f"{student_block(detail, max_chars=500, max_lines=6)}")


def _student_label(student: Student | str) -> tuple[str, str]:
    if isinstance(student, str):
        return student, ""
    return student.id, student.name or ""


def render_feedback(course: Course, student: Student | str, slug: str, result: dict[str, Any],
                    now: datetime, published: bool, extension_days: int = 0) -> str:
    """One self-contained HTML page of feedback on one grading result.

    `student` is a `Student` row or a student id; `now` is compared with the module's due
    instant (a naive `now` is taken as UTC); `extension_days` moves the due date for this
    student. Everything taken from the result is escaped.
    """
    spec = course.module(slug)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    due = module_due(course, slug, extension_days)
    past_due = now > due
    sid, name = _student_label(student)

    shown: list[dict[str, Any]] = []
    hidden_score = hidden_max = 0.0
    hidden_n = 0
    withheld_due: list[dict[str, Any]] = []
    withheld_pub: list[dict[str, Any]] = []
    for test in result.get("tests") or []:
        vis = test.get("visibility") or "visible"
        if vis == "visible" or (vis == "after_due_date" and past_due) \
                or (vis == "after_published" and published):
            shown.append(test)
        elif vis == "after_due_date":
            withheld_due.append(test)
        elif vis == "after_published":
            withheld_pub.append(test)
        else:  # "hidden", and anything unknown is treated as hidden
            hidden_n += 1
            hidden_score += float(test.get("score") or 0.0)
            hidden_max += float(test.get("max_score") or 0.0)

    score = sum(float(t.get("score") or 0.0) for t in shown) + hidden_score
    max_score = sum(float(t.get("max_score") or 0.0) for t in shown) + hidden_max
    withheld = withheld_due + withheld_pub

    out: list[str] = []
    w = out.append
    title = f"{spec.title} — feedback"
    w("<!DOCTYPE html>")
    w('<html lang="en"><head><meta charset="utf-8">')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">')
    w(f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>")
    w(f"<h1>{_e(spec.title)}</h1>")
    who = f"{name} ({sid})" if name else sid
    due_text = due.strftime("%Y-%m-%d %H:%M %Z")
    w(f'<p class="who">{_e(course.name)} · {_e(who)} · due {_e(due_text)}</p>')
    label = "Score so far" if withheld else "Score"
    w(f'<p class="score">{label}: {_pts(score)} / {_pts(max_score)} points</p>')
    if withheld:
        w('<p class="note">Tests that are not shown yet are not included in this score.</p>')

    w("<table><thead><tr><th>Test</th><th>Points</th><th>Result</th><th>Message</th></tr>"
      "</thead><tbody>")
    for test in shown:
        status = str(test.get("status") or "")
        css = "passed" if status == "passed" else "failed"
        message = test.get("output") or ""
        w(f'<tr class="{css}"><td>{_e(one_line(test.get("name", ""), 200))}</td>'
          f'<td class="pts">{_pts(test.get("score"))} / {_pts(test.get("max_score"))}</td>'
          f'<td class="status">{_e(status or "?")}</td>'
          f"<td>{_message_html(message)}</td></tr>")
    if hidden_n:
        w(f'<tr class="aggregate"><td colspan="4">hidden tests: {_pts(hidden_score)} / '
          f"{_pts(hidden_max)} points</td></tr>")
    w("</tbody></table>")
    if withheld_due:
        n = len(withheld_due)
        w(f'<p class="note">{n} test{"s are" if n != 1 else " is"} shown after the due date.</p>')
    if withheld_pub:
        n = len(withheld_pub)
        w(f'<p class="note">{n} test{"s are" if n != 1 else " is"} shown once the results '
          f"are published.</p>")

    extra = result.get("extra_data") or {}
    for key, heading, explanation in _SECTIONS:
        items = section_items(extra.get(key))
        if not items:
            continue
        w(f"<section><h2>{_e(heading)}</h2>")
        if explanation:
            w(f'<p class="note">{_e(explanation)}</p>')
        w("<ul>" + "".join(f"<li>{_item_html(key, item)}</li>" for item in items)
          + "</ul></section>")
    if extra.get("timed_out"):
        w('<section><h2>Time limit</h2><p class="note">Grading this notebook hit its time '
          "limit; tests that did not finish scored 0.</p></section>")
    w("</body></html>")
    return "\n".join(out) + "\n"


# --- writing pages ----------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _file_name(student_id: str) -> str:
    name = _SAFE.sub("_", student_id)
    return f"{name if name.strip('.') else '_'}.html"


def _extension_days(engine: Engine, slug: str, students: Iterable[str]) -> dict[str, int]:
    wanted = set(students)
    with Session(engine) as session:
        rows = session.execute(select(Extension.student_id, func.sum(Extension.days))
                               .where(Extension.slug == slug).group_by(Extension.student_id)).all()
    return {sid: int(days or 0) for sid, days in rows if sid in wanted}


def write_feedback(course: Course, engine: Engine, slug: str, out_dir: Path,
                   now: datetime | None = None) -> list[Path]:
    """Write `<student_id>.html` for every student whose latest attempt has been graded."""
    course.module(slug)
    now = now or datetime.now(timezone.utc)
    published = is_published(engine, slug)
    latest = latest_graded_runs(engine, slug)
    extensions = _extension_days(engine, slug, latest)
    with Session(engine) as session:
        students = {s.id: s for s in session.scalars(select(Student).where(
            Student.id.in_(list(latest))))}
        session.expunge_all()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sid, row in latest.items():
        page = render_feedback(course, students.get(sid, sid), slug, row.run.result, now,
                               published, extensions.get(sid, 0))
        path = out_dir / _file_name(sid)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
