"""Rubrics: per question, parts with their maximum points, each part a list of items.

A rubric file is TOML (`solutions/<slug>/rubric.toml` for a module's written questions
and its `module_report`; `solutions/rubric.toml` for `presentation` and `bonus`); the
schema and the checks are in `docs/rubrics.md`. This module holds the types, the one
scoring rule, and reading (`parse_rubric`, `load_rubric`), checking (`check_rubrics`)
and writing (`dump_rubric`) the files.

- Parsing is strict: an unknown key, a wrong type (a bool is not a number; points are
  finite), a missing key, an empty name, a duplicate question id or a duplicate part
  name within a question is a `UserError` with one line naming the file, the position
  (question / part / item, counted from 1) and the fix.
- `check_rubrics` finds what parsing alone cannot: parts whose maxima do not add up to
  the question's points, ids that are not written questions of the master, points that
  differ from the master's cell or from the component's maximum
  (`gradebook.scores.default_max`). A missing rubric file is fine, and so is a written
  question without an entry: it is graded with `default_question` (one part worth the
  question's points, no items).
- `dump_rubric` writes TOML that `parse_rubric` reads back to an equal `Rubric`,
  leaving out the defaults (note "", fixed false, no code_cells, no items).

Scoring (the same for every question):

    part     = clamp(base + sum(points of the applied non-fixed items), 0, part.max_points)
               where base = the points of the applied fixed item, or 0 when none is applied
    question = clamp(sum(parts) + adjustment, 0, question.points)

At most one fixed item per part may be applied: `gradebook.marking.submit_grade` refuses
two, and on the grading page choosing one unchecks the other.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import tomli_w

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.core.notebook_io import nbgrader_meta
from autograder.layout import module_layout
from gradebook.scores import default_max
from gradebook.written import load_master, written_questions

RUBRIC_FILE = "rubric.toml"
MODULE_COMPONENT = "module_report"  # the one manual component a module rubric may hold
COURSE_COMPONENTS = ("presentation", "bonus")  # what the course-wide rubric may hold
DEFAULT_PART = "Overall"  # the name of the one part of a default rubric


@dataclass(frozen=True)
class Item:
    """One rubric item: `points` added (negative: deducted), or the part's score if fixed."""

    points: float
    text: str  # what the student sees
    note: str = ""  # what only graders see
    fixed: bool = False


@dataclass(frozen=True)
class Part:
    name: str
    max_points: float
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Question:
    """The rubric of one graded thing: a written question (id = its grade_id), or a
    manual component (`module_report`, `presentation`, `bonus`)."""

    id: str
    points: float
    parts: tuple[Part, ...] = ()
    code_cells: tuple[str, ...] = ()  # grade_ids of code cells shown beside the answer


@dataclass(frozen=True)
class Rubric:
    """The questions of one rubric file, in file order."""

    questions: tuple[Question, ...] = field(default_factory=tuple)

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)


def clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def part_points(max_points: float, applied: Iterable[tuple[float, bool]]) -> float:
    """A part's points from its applied items, given as (points, fixed) pairs.

    When several fixed items are given, the last one counts.
    """
    base, delta = 0.0, 0.0
    for points, fixed in applied:
        if fixed:
            base = float(points)
        else:
            delta += float(points)
    return clamp(base + delta, 0.0, float(max_points))


def question_points(points: float, parts: Iterable[float], adjustment: float = 0.0) -> float:
    """A question's points from its parts' points and the grader's adjustment."""
    return clamp(sum(parts) + float(adjustment), 0.0, float(points))


def default_question(qid: str, points: float) -> Question:
    """The rubric of a question without an entry: one part worth all its points, no items
    (the grader gives the points through the question's adjustment)."""
    return Question(id=qid, points=points, parts=(Part(name=DEFAULT_PART, max_points=points),))


# --- parsing ----------------------------------------------------------------------------

_TOP_KEYS = ("question",)
_QUESTION_KEYS = ("id", "points", "code_cells", "part")
_PART_KEYS = ("name", "max_points", "item")
_ITEM_KEYS = ("points", "text", "note", "fixed")


def _show(value: Any) -> str:
    """A value as a short one-line repr for an error message."""
    text = "true" if value is True else "false" if value is False else repr(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= 40 else text[:37] + "..."


class _Where:
    """The position of a table in a rubric file, for error messages."""

    def __init__(self, where: str, position: str = "") -> None:
        self.where, self.position = where, position

    def at(self, position: str) -> _Where:
        return _Where(self.where, f"{self.position}, {position}" if self.position else position)

    def error(self, message: str) -> UserError:
        prefix = f"{self.where}: {self.position}: " if self.position else f"{self.where}: "
        return UserError(prefix + message)


def _keys(table: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...],
          at: _Where, example: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(allowed)}"
            raise at.error(f"unknown key {key!r}; {hint}")
    for key in required:
        if key not in table:
            raise at.error(f"missing key {key!r}; add e.g. {example}")


def _number(table: dict[str, Any], key: str, at: _Where) -> float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise at.error(f"{key} must be a number (got {_show(value)}); write e.g. {key} = 2")
    if not math.isfinite(value):
        raise at.error(f"{key} must be finite (got {_show(value)}); write e.g. {key} = 2")
    return value


def _text(table: dict[str, Any], key: str, at: _Where, *, empty_ok: bool = False) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise at.error(f"{key} must be a string (got {_show(value)}); write e.g. {key} = \"...\"")
    if not empty_ok and not value.strip():
        raise at.error(f"{key} is empty; give it a non-empty text")
    return value


def _tables(table: dict[str, Any], key: str, at: _Where) -> list[dict[str, Any]]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise at.error(f"{key} must be an array of tables; write each one as [[...{key}]]")
    return value


def _item(table: dict[str, Any], part_max: float, at: _Where) -> Item:
    _keys(table, _ITEM_KEYS, ("points", "text"), at, 'points = 1 and text = "..."')
    points = _number(table, "points", at)
    text = _text(table, "text", at)
    note = _text(table, "note", at, empty_ok=True) if "note" in table else ""
    fixed = table.get("fixed", False)
    if not isinstance(fixed, bool):
        raise at.error(f"fixed must be true or false (got {_show(fixed)})")
    if fixed and not 0 <= points <= part_max:
        raise at.error(f"a fixed item's points ({_show(points)}) must lie between 0 and the "
                       f"part's max_points ({_show(part_max)}); fix the points or drop fixed")
    return Item(points=points, text=text, note=note, fixed=fixed)


def _named(table: dict[str, Any], key: str, at: _Where, show: bool) -> _Where:
    """`at` with the table's id or name, when it has a usable one, in brackets."""
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        return at
    return _Where(at.where, f"{at.position} ({_show(value) if show else value})")


def _part(table: dict[str, Any], at: _Where) -> Part:
    at = _named(table, "name", at, show=True)
    _keys(table, _PART_KEYS, ("name", "max_points"), at, 'name = "..." and max_points = 2')
    name = _text(table, "name", at)
    max_points = _number(table, "max_points", at)
    if max_points <= 0:
        raise at.error(f"max_points must be > 0 (got {_show(max_points)})")
    items = tuple(_item(t, max_points, at.at(f"item {n}"))
                  for n, t in enumerate(_tables(table, "item", at), 1))
    return Part(name=name, max_points=max_points, items=items)


def _question(table: dict[str, Any], at: _Where) -> Question:
    at = _named(table, "id", at, show=False)
    _keys(table, _QUESTION_KEYS, ("id", "points", "part"), at,
          'id = "...", points = 5 and a [[question.part]]')
    qid = _text(table, "id", at)
    points = _number(table, "points", at)
    if points <= 0:
        raise at.error(f"points must be > 0 (got {_show(points)})")
    cells = table.get("code_cells", [])
    if not isinstance(cells, list) or not all(isinstance(c, str) and c.strip() for c in cells):
        raise at.error(f"code_cells must be a list of grade_ids (got {_show(cells)}); "
                       f'write e.g. code_cells = ["attention"]')
    if len(set(cells)) != len(cells):
        raise at.error("code_cells lists a grade_id twice; list each once")
    raw = _tables(table, "part", at)
    if not raw:
        raise at.error("has no part; add at least one [[question.part]]")
    parts: list[Part] = []
    for n, t in enumerate(raw, 1):
        part = _part(t, at.at(f"part {n}"))
        if any(p.name == part.name for p in parts):
            raise at.error(f"part {n}: duplicate part name {part.name!r}; name each part of a "
                           f"question differently")
        parts.append(part)
    return Question(id=qid, points=points, parts=tuple(parts), code_cells=tuple(cells))


def parse_rubric(text: str, where: str) -> Rubric:
    """The rubric in TOML `text`; `where` names the file in error messages."""
    root = _Where(where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise root.error(f"not valid TOML: {str(exc).splitlines()[0]}; fix the syntax") from None
    _keys(data, _TOP_KEYS, (), root, "")
    questions: list[Question] = []
    for n, table in enumerate(_tables(data, "question", root), 1):
        question = _question(table, root.at(f"question {n}"))
        if any(q.id == question.id for q in questions):
            raise root.error(f"question {n}: duplicate id {question.id!r}; each question "
                             f"appears once per file")
        questions.append(question)
    return Rubric(questions=tuple(questions))


def load_rubric(path: Path) -> Rubric | None:
    """The rubric in the file at `path`, or None when there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the rubric ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); make it a UTF-8 "
                        f"text file") from None
    return parse_rubric(text, str(path))


def module_rubric_path(course: Course, slug: str) -> Path:
    """`solutions/<slug>/rubric.toml`: the written questions and module_report of a module."""
    return module_layout(course, slug).solution_dir / RUBRIC_FILE


def course_rubric_path(course: Course) -> Path:
    """`solutions/rubric.toml`: presentation and bonus."""
    return course.root / "solutions" / RUBRIC_FILE


# --- checking ---------------------------------------------------------------------------

def _num(value: float) -> str:
    """2 rather than 2.0; 2.5 as is."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _parts_problems(path: Path, rubric: Rubric) -> list[str]:
    problems = []
    for q in rubric.questions:
        total = sum(p.max_points for p in q.parts)
        if not math.isclose(total, q.points, abs_tol=1e-9):
            problems.append(f"{path}: question {q.id}: the parts' max_points add up to "
                            f"{_num(total)}, not the question's points {_num(q.points)}; "
                            f"fix the parts or the points")
    return problems


def _load(path: Path) -> tuple[Rubric | None, list[str]]:
    try:
        return load_rubric(path), []
    except UserError as exc:
        return None, [str(exc)]


def check_module_rubric(course: Course, slug: str) -> list[str]:
    """The problems of `solutions/<slug>/rubric.toml`, one line each ([] without a file)."""
    path = module_rubric_path(course, slug)
    rubric, problems = _load(path)
    if rubric is None:
        return problems
    problems += _parts_problems(path, rubric)
    try:
        master = load_master(course, slug)
    except UserError as exc:
        return problems + [f"{path}: cannot check the ids against the master: {exc}"]
    written = {q.grade_id: q.points for q in written_questions(master)}
    code = {str(nbgrader_meta(c).get("grade_id")) for c in master.get("cells", [])
            if c.get("cell_type") == "code" and nbgrader_meta(c).get("grade_id")}
    for q in rubric.questions:
        if q.id == MODULE_COMPONENT:
            expected = default_max(course, MODULE_COMPONENT, slug)
            if not math.isclose(q.points, expected):
                problems.append(f"{path}: question {q.id}: points {_num(q.points)} differ from "
                                f"the module report's maximum {_num(expected)}; use "
                                f"points = {_num(expected)}")
        elif q.id not in written:
            known = ", ".join([*written, MODULE_COMPONENT])
            problems.append(f"{path}: question {q.id}: not a written question of the master "
                            f"{module_layout(course, slug).master.name}; use one of {known}, "
                            f"or remove it")
        elif not math.isclose(q.points, written[q.id]):
            problems.append(f"{path}: question {q.id}: points {_num(q.points)} differ from the "
                            f"master cell's points {_num(written[q.id])}; use "
                            f"points = {_num(written[q.id])} or fix the master")
        for cell in q.code_cells:
            if cell not in code:
                problems.append(f"{path}: question {q.id}: code_cells names {cell!r}, not the "
                                f"grade_id of a code cell of the master; fix or remove it")
    return problems


def check_course_rubric(course: Course) -> list[str]:
    """The problems of `solutions/rubric.toml`, one line each ([] without a file)."""
    path = course_rubric_path(course)
    rubric, problems = _load(path)
    if rubric is None:
        return problems
    problems += _parts_problems(path, rubric)
    for q in rubric.questions:
        if q.id not in COURSE_COMPONENTS:
            problems.append(f"{path}: question {q.id}: the course-wide rubric holds only "
                            f"{' and '.join(COURSE_COMPONENTS)}; move it to "
                            f"solutions/<slug>/{RUBRIC_FILE} or remove it")
            continue
        expected = default_max(course, q.id, None)
        if not math.isclose(q.points, expected):
            problems.append(f"{path}: question {q.id}: points {_num(q.points)} differ from "
                            f"the maximum of {q.id} {_num(expected)}; use "
                            f"points = {_num(expected)}")
        if q.code_cells:
            problems.append(f"{path}: question {q.id}: code_cells has no notebook to refer to "
                            f"in the course-wide rubric; remove it")
    return problems


def check_rubrics(course: Course) -> list[str]:
    """Every problem of every rubric file of the course (modules in config order, then the
    course-wide file), one line each naming the file and the fix; [] when all hold."""
    problems: list[str] = []
    for spec in course.modules:
        problems += check_module_rubric(course, spec.slug)
    return problems + check_course_rubric(course)


# --- writing ----------------------------------------------------------------------------

def _value(value: float) -> int | float:
    """Integral values as ints (2, not 2.0), the others as floats."""
    return int(value) if float(value).is_integer() else float(value)


def dump_rubric(rubric: Rubric) -> str:
    """The rubric as TOML that `parse_rubric` reads back to an equal `Rubric`."""
    questions = []
    for q in rubric.questions:
        parts = []
        for p in q.parts:
            part: dict[str, Any] = {"name": p.name, "max_points": _value(p.max_points)}
            items = []
            for i in p.items:
                item: dict[str, Any] = {"points": _value(i.points)}
                if i.fixed:
                    item["fixed"] = True
                item["text"] = i.text
                if i.note:
                    item["note"] = i.note
                items.append(item)
            if items:
                part["item"] = items
            parts.append(part)
        question: dict[str, Any] = {"id": q.id, "points": _value(q.points)}
        if q.code_cells:
            question["code_cells"] = list(q.code_cells)
        question["part"] = parts
        questions.append(question)
    return tomli_w.dumps({"question": questions}) if questions else ""
