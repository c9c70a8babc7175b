"""Rubrics: per question, parts with their maximum points, each part a list of items.

A rubric file is TOML (`solutions/<slug>/rubric.toml` for a module's written questions
and its `module_report`; `solutions/rubric.toml` for `presentation` and `bonus`); the
schema and the checks are in `docs/rubrics.md`. This module holds the types and the
one scoring rule; parsing, checking and writing the files live beside them.

Scoring (the same for every question):

    part     = clamp(base + sum(points of the applied non-fixed items), 0, part.max_points)
               where base = the points of the applied fixed item, or 0 when none is applied
    question = clamp(sum(parts) + adjustment, 0, question.points)

At most one fixed item per part counts: applying a fixed item replaces another fixed
item of the same part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


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
