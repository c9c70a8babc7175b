"""Student feedback pages and the module's "published" state.

`course feedback SLUG` writes one self-contained HTML page per student with a submission,
from the result that counts (`gradebook.results`: the counted attempt's graded run with
the overrides applied; an overridden test says "regraded"). A student whose counted
attempt is not graded yet gets a page saying so. `course publish SLUG` marks a module's
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

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.plugin.results import section_items, split_load_error
from autograder.core.student_text import clean, one_line, quoted_segments, student_block
from gradebook.aggregate import due_datetime
from gradebook.html import escape, page_head, points
from gradebook.models import Module, PublishedModule, Student
from gradebook.results import LAST_BEFORE_CUTOFF, AttemptPolicy, CountedResult, counted_results
from gradebook.store import actor, audit


# --- publication ---------------------------------------------------------------

def publish(engine: Engine, slug: str, *, by: str | None = None) -> bool:
    """Mark the module as published; True if it was not published before.

    Idempotent: publishing again changes nothing and writes no second audit entry.
    """
    with Session(engine) as session, session.begin():
        if session.get(Module, slug) is None:
            raise UserError(f"unknown module {slug!r} in the gradebook; is it in course_config.py?")
        if session.get(PublishedModule, slug) is not None:
            return False
        session.add(PublishedModule(slug=slug, published_by=by or actor()))
        audit(session, "publish", f"module {slug}", by=by, slug=slug)
    return True


def is_published(engine: Engine, slug: str) -> bool:
    """Whether staff have published the module's results."""
    with Session(engine) as session:
        return session.get(PublishedModule, slug) is not None


# --- rendering ------------------------------------------------------------------

def module_due(course: Course, slug: str, extension_days: int = 0) -> datetime:
    """The due instant: due date (+ extension days, calendar days) at due_time, course zone."""
    return due_datetime(course, slug, extension_days).to_pydatetime()


_CSS = """
.score { font-size: 1.4rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.pts { white-space: nowrap; text-align: right; }
tr.passed td.status { color: #17692b; } tr.failed td.status { color: #a31515; }
.aggregate td { font-style: italic; }
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


def _message_html(text: str) -> str:
    """A feedback text as HTML: the grader's lines in a <pre>, each quoted student block
    in a labelled <pre class="student-text">; all of it cleaned and escaped."""
    parts = []
    for student, segment in quoted_segments(text):
        if student:
            parts.append(f'<p class="student-label">{escape(STUDENT_LABEL)}</p>'
                         f'<pre class="student-text">{escape(clean(segment))}</pre>')
        elif clean(segment):
            parts.append(f"<pre>{escape(clean(segment))}</pre>")
    return "".join(parts)


def _item_html(key: str, item: str) -> str:
    """One listed item of extra_data: a load error shows its cell, then the error the
    student's code raised as student text; other items are one line of grader text."""
    label, detail = split_load_error(item) if key == "load_errors" else (None, item)
    if label is None:
        return f"<pre>{escape(one_line(detail, 500))}</pre>"
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
    out.extend(page_head(title, _CSS))
    w(f"<h1>{escape(spec.title)}</h1>")
    who = f"{name} ({sid})" if name else sid
    due_text = due.strftime("%Y-%m-%d %H:%M %Z")
    w(f'<p class="who">{escape(course.name)} · {escape(who)} · due {escape(due_text)}</p>')
    label = "Score so far" if withheld else "Score"
    w(f'<p class="score">{label}: {points(score)} / {points(max_score)} points</p>')
    if withheld:
        w('<p class="note">Tests that are not shown yet are not included in this score.</p>')

    w("<table><thead><tr><th>Test</th><th>Points</th><th>Result</th><th>Message</th></tr>"
      "</thead><tbody>")
    for test in shown:
        status = str(test.get("status") or "")
        css = "passed" if status == "passed" else "failed"
        message = test.get("output") or ""
        regraded = ' <span class="note">(regraded)</span>' if test.get("override") else ""
        w(f'<tr class="{css}"><td>{escape(one_line(test.get("name", ""), 200))}</td>'
          f'<td class="pts">{points(test.get("score"))} / {points(test.get("max_score"))}'
          f"{regraded}</td>"
          f'<td class="status">{escape(status or "?")}</td>'
          f"<td>{_message_html(message)}</td></tr>")
    if hidden_n:
        w(f'<tr class="aggregate"><td colspan="4">hidden tests: {points(hidden_score)} / '
          f"{points(hidden_max)} points</td></tr>")
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
        w(f"<section><h2>{escape(heading)}</h2>")
        if explanation:
            w(f'<p class="note">{escape(explanation)}</p>')
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


def render_pending(course: Course, student: Student | str, slug: str,
                   counted: CountedResult) -> str:
    """The page for a student whose counted attempt is collected but not graded yet."""
    spec = course.module(slug)
    sid, name = _student_label(student)
    due = module_due(course, slug, counted.extension_days)
    submitted = counted.submitted_at.astimezone(course.tz).strftime("%Y-%m-%d %H:%M %Z")
    out = page_head(f"{spec.title} — feedback", _CSS)
    w = out.append
    w(f"<h1>{escape(spec.title)}</h1>")
    who = f"{name} ({sid})" if name else sid
    w(f'<p class="who">{escape(course.name)} · {escape(who)} · due '
      f'{escape(due.strftime("%Y-%m-%d %H:%M %Z"))}</p>')
    w('<p class="score">Being graded</p>')
    w(f"<p>Your submission of {escape(submitted)} (attempt {counted.attempt}) is the one "
      f"that counts, and it is being graded. Its feedback will appear on this page once "
      f"grading is done.</p>")
    w("</body></html>")
    return "\n".join(out) + "\n"


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
                   policy: AttemptPolicy = LAST_BEFORE_CUTOFF) -> FeedbackPages:
    """Write `<student_id>.html` for every student with a submission of the module.

    The page shows the result that counts under `policy`; while the counted attempt is
    not graded yet, it says that the attempt is being graded. Students without a
    submission get no page.
    """
    course.module(slug)
    now = now or datetime.now(timezone.utc)
    published = is_published(engine, slug)
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
        student = students.get(sid, sid)
        path = out_dir / _file_name(sid)
        if result.graded:
            graded.append(_write(path, render_feedback(
                course, student, slug, dict(result.result or {}), now, published,
                result.extension_days)))
        else:
            pending.append(_write(path, render_pending(course, student, slug, result)))
    return FeedbackPages(graded, pending)
