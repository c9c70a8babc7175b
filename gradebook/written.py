"""Collecting the answers to a module's written questions for manual grading.

`course written SLUG` writes, into one folder:

- `<grade_id>.html` per written question: the question, its points, the model answer
  from the master (inside a collapsed `<details>`), then every student's answer as
  escaped preformatted text with the student's id and name;
- `index.html` linking the question pages;
- `written-<slug>.csv`: the scores file `gradebook.scores.import_scores` reads for the
  component `written` (the same columns as `course scores template written SLUG`: one
  row per student, points empty, max_points = the module's `written_points`).

Choices where the brief is silent:

- A written question is a markdown cell of the master notebook
  (`solutions/<slug>/<slug>.ipynb`) whose nbgrader metadata has grade and solution set
  (as `autograder.assign.written_points` counts them).
- The question text is the cell's own text before `### BEGIN SOLUTION` when there is
  any; otherwise the nearest preceding markdown cell that is not itself a written answer
  cell. The model answer is the text inside the cell's solution region(s), or the whole
  cell when it has no markers (nbgrader clears such a cell completely).
- Text taken from the master never includes `### BEGIN HIDDEN TESTS` regions, and code
  cells of the master (where the autograded tests live) are never read.
- A student's answer is the source of the cell with the same grade_id in the notebook of
  the student's latest submission (highest attempt); a missing or unreadable notebook,
  or a notebook without that cell, shows "(no answer)". Pages list the students with a
  submission; the CSV lists every student of the roster (like the template), so students
  who did not submit can be given points as well.
- Everything is HTML-escaped; markdown is shown as its source, never rendered. A
  student's answer is shown cleaned of control and format characters (bidi overrides,
  zero-width characters, `\r`: `autograder.core.student_text.clean`) under the
  student's id; it is not capped.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.layout import module_layout
from autograder.core.notebook_io import (NotebookError, NotebookNode, is_written_answer, nbgrader_meta,
                                   parse_notebook)
from autograder.core.student_text import clean
from gradebook.html import escape, page_head, points
from gradebook.models import Blob, Student, Submission
from gradebook.scores import default_max

NO_ANSWER = "(no answer)"

_BEGIN = re.compile(r"^[ \t]*###[ \t]*BEGIN SOLUTION[ \t]*$", re.MULTILINE)
_SOLUTION = re.compile(r"^[ \t]*###[ \t]*BEGIN SOLUTION[ \t]*\n?(.*?)"
                       r"(?:^[ \t]*###[ \t]*END SOLUTION[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_HIDDEN = re.compile(r"^[ \t]*###[ \t]*BEGIN HIDDEN TESTS.*?"
                     r"(?:^[ \t]*###[ \t]*END HIDDEN TESTS[ \t]*$\n?|\Z)",
                     re.MULTILINE | re.DOTALL)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class WrittenQuestion:
    """One manually graded answer cell of the master notebook."""

    grade_id: str
    points: float
    question: str
    model_answer: str


@dataclass(frozen=True)
class StudentAnswer:
    student_id: str
    name: str
    attempt: int
    answer: str  # NO_ANSWER when the notebook or the cell is missing


# --- the master -------------------------------------------------------------------------

def _no_hidden(text: str) -> str:
    return _HIDDEN.sub("", text)


def _float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def written_questions(master: NotebookNode) -> list[WrittenQuestion]:
    """The written questions of a master notebook, in notebook order."""
    questions: list[WrittenQuestion] = []
    previous_text = ""
    for cell in master.get("cells", []):
        source = _no_hidden(str(cell.get("source", "")))
        if cell.get("cell_type") != "markdown":
            continue
        if not is_written_answer(cell):
            previous_text = source.strip()
            continue
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not gid:
            continue  # `course assign` rejects such a master; nothing to match students by
        begin = _BEGIN.search(source)
        own = source[:begin.start()].strip() if begin else ""
        regions = [m.group(1).strip("\n") for m in _SOLUTION.finditer(source)]
        model = "\n".join(regions).strip() if regions else source.strip()
        questions.append(WrittenQuestion(gid, _float(meta.get("points")),
                                         own or previous_text, model))
    return questions


@functools.lru_cache(maxsize=32)
def _questions_of(path: str, mtime_ns: int, size: int) -> tuple[WrittenQuestion, ...]:
    try:
        return tuple(written_questions(parse_notebook(Path(path).read_bytes(), path)))
    except NotebookError as exc:
        raise UserError(str(exc)) from None


def master_questions(course: Course, slug: str) -> tuple[WrittenQuestion, ...]:
    """The written questions of the module's master, parsed once per version of the file."""
    layout = module_layout(course, slug)
    layout.require("master")
    stat = layout.master.stat()
    return _questions_of(str(layout.master), stat.st_mtime_ns, stat.st_size)


def load_master(course: Course, slug: str) -> NotebookNode:
    layout = module_layout(course, slug)
    layout.require("master")
    try:
        return parse_notebook(layout.master.read_bytes(), str(layout.master))
    except NotebookError as exc:
        raise UserError(str(exc)) from None


# --- the students -----------------------------------------------------------------------

def _answer(content: bytes | None, grade_id: str, name: str) -> str:
    if content is None:
        return NO_ANSWER
    try:
        nb = parse_notebook(content, name)
    except NotebookError:
        return NO_ANSWER
    for cell in nb.get("cells", []):
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            text = str(cell.get("source", ""))
            return text if text.strip() else NO_ANSWER
    return NO_ANSWER


def student_answers(engine: Engine, slug: str, grade_ids: list[str]
                    ) -> tuple[dict[str, list[StudentAnswer]], list[tuple[str, str]]]:
    """(grade_id -> answers of every student with a submission, all (id, name) of the roster).

    Each student's latest submission (highest attempt) counts.
    """
    with Session(engine) as session:
        roster = [(sid, name or "") for sid, name in session.execute(
            select(Student.id, Student.name).order_by(Student.id)).all()]
        names = dict(roster)
        latest: dict[str, tuple[int, str, str]] = {}
        for sid, attempt, sha, source in session.execute(
                select(Submission.student_id, Submission.attempt, Submission.sha256,
                       Submission.source_name).where(Submission.slug == slug)).all():
            if sid not in latest or attempt > latest[sid][0]:
                latest[sid] = (attempt, sha, source)
        answers: dict[str, list[StudentAnswer]] = {gid: [] for gid in grade_ids}
        for sid in sorted(latest):
            attempt, sha, source = latest[sid]
            blob = session.get(Blob, sha)
            content = blob.content if blob is not None else None
            for gid in grade_ids:
                answers[gid].append(StudentAnswer(sid, names.get(sid, ""), attempt,
                                                  _answer(content, gid, source or sha)))
    return answers, roster


def answer_cells(engine: Engine, submission_id: int, grade_ids: list[str]
                 ) -> dict[str, str]:
    """grade_id -> the cell's source in the submission's notebook (NO_ANSWER when the
    notebook is missing or unreadable or has no such cell)."""
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        blob = session.get(Blob, submission.sha256) if submission is not None else None
        content = blob.content if blob is not None else None
        name = submission.source_name if submission is not None else str(submission_id)
    return {gid: _answer(content, gid, name or str(submission_id)) for gid in grade_ids}


# --- rendering ----------------------------------------------------------------------------

_CSS = """
pre { background: #f7f7f7; padding: .5rem .7rem; border-radius: 4px; }
.question pre { background: #eef3fb; }
details { margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; }
section.answer { border-top: 1px solid #ccc; margin-top: 1rem; padding-top: .5rem; }
section.answer h3 { margin: .2rem 0 .4rem; font-size: 1rem; }
.missing pre { color: #a31515; font-style: italic; }
"""


def render_question(course: Course, slug: str, question: WrittenQuestion,
                    answers: list[StudentAnswer]) -> str:
    """One self-contained HTML page: a question, its model answer and every student's answer."""
    spec = course.module(slug)
    out = page_head(f"{spec.title} — {question.grade_id}", _CSS)
    w = out.append
    w(f"<h1>{escape(question.grade_id)}</h1>")
    w(f'<p class="who">{escape(course.name)} · {escape(spec.title)} · {points(question.points)} '
      f'point{"" if question.points == 1 else "s"} · {len(answers)} submission(s) · '
      f'<a href="index.html">all questions</a></p>')
    w('<section class="question"><h2>Question</h2>')
    w(f"<pre>{escape(question.question or '(no question text)')}</pre></section>")
    w("<details><summary>Model answer</summary>")
    w(f"<pre>{escape(question.model_answer)}</pre></details>")
    w("<h2>Answers</h2>")
    if not answers:
        w('<p class="note">No submissions yet.</p>')
    for ans in answers:
        who = f"{ans.student_id} — {ans.name}" if ans.name else ans.student_id
        css = "answer missing" if ans.answer == NO_ANSWER else "answer"
        w(f'<section class="{css}" id="{escape(_SAFE.sub("_", ans.student_id))}">'
          f"<h3>{escape(who)} <span class=\"note\">(attempt {ans.attempt})</span></h3>"
          f"<pre>{escape(clean(ans.answer))}</pre></section>")
    w("</body></html>")
    return "\n".join(out) + "\n"


def render_index(course: Course, slug: str, pages: list[tuple[WrittenQuestion, str]],
                 csv_name: str) -> str:
    spec = course.module(slug)
    out = page_head(f"{spec.title} — written questions", _CSS)
    w = out.append
    w(f"<h1>{escape(spec.title)}: written questions</h1>")
    total = sum(q.points for q, _ in pages)
    w(f'<p class="who">{escape(course.name)} · {len(pages)} question(s) · {points(total)} points '
      f"in the master · written_points = {points(spec.written_points)} in the config</p>")
    if pages and abs(total - float(spec.written_points)) > 1e-9:
        w('<p class="note">The points of the questions do not add up to the module\'s '
          "written_points; the scores file uses written_points.</p>")
    if not pages:
        w('<p class="note">The master notebook has no written questions.</p>')
    else:
        w("<ul>")
        for question, file_name in pages:
            w(f'<li><a href="{escape(file_name)}">{escape(question.grade_id)}</a> '
              f"({points(question.points)} points)</li>")
        w("</ul>")
    w(f'<p>Scores: fill the points column of <a href="{escape(csv_name)}">'
      f"{escape(csv_name)}</a> and "
      f"import it with <code>course scores import {escape(csv_name)} --component written "
      f"--slug {escape(slug)}</code>.</p>")
    w("</body></html>")
    return "\n".join(out) + "\n"


def scores_csv(course: Course, slug: str, roster: list[tuple[str, str]]) -> str:
    """The scores file for `written` (the columns of `gradebook.scores.template`)."""
    maximum = default_max(course, "written", slug)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "name", "slug", "points", "max_points", "comment"])
    cell = str(int(maximum)) if maximum.is_integer() else repr(maximum)
    for sid, name in roster:
        writer.writerow([sid, name, slug, "", cell, ""])
    return out.getvalue()


# --- writing ---------------------------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _page_name(grade_id: str, taken: set[str]) -> str:
    base = _SAFE.sub("_", grade_id)
    if not base.strip(".") or base == "index":
        base = f"_{base}"
    name, n = f"{base}.html", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.html"
    taken.add(name)
    return name


def gather_written(course: Course, engine: Engine, slug: str, out_dir: Path) -> list[Path]:
    """Write the question pages, `index.html` and `written-<slug>.csv`; returns their paths
    (the question pages in notebook order, then the index, then the CSV)."""
    course.module(slug)
    questions = written_questions(load_master(course, slug))
    answers, roster = student_answers(engine, slug, [q.grade_id for q in questions])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    paths: list[Path] = []
    pages: list[tuple[WrittenQuestion, str]] = []
    for question in questions:
        name = _page_name(question.grade_id, taken)
        paths.append(_write(out_dir / name,
                            render_question(course, slug, question, answers[question.grade_id])))
        pages.append((question, name))
    csv_name = f"written-{_SAFE.sub('_', slug)}.csv"
    paths.append(_write(out_dir / "index.html", render_index(course, slug, pages, csv_name)))
    paths.append(_write(out_dir / csv_name, scores_csv(course, slug, roster)))
    return paths
