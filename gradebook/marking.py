"""Marking answers in a grading queue: rubric items applied, grades, totals, rubric edits.

- A grade is the set of applied rubric items, a point adjustment and a comment; its points
  follow `gradebook.rubric`'s scoring rule. `submit_grade` stores it and releases the
  grader's claim, in one transaction with the manual score it changes and audit entries
  naming the grader.
- The manual score a queue feeds (the one `course final` reads): for a written question,
  the module's `written` score = the sum of the student's graded written questions of that
  module (max = the module's written_points); for `module_report`, `presentation` and
  `bonus`, the grade itself (max = `gradebook.scores.default_max`). A new `ManualScore`
  row (source "web") is written only when the points change.
- A CSV import (`course scores import`) after web grading writes a newer row, which then
  counts; `import_override` tells the page so.
- Editing an item's points (or deleting it) re-scores every answer it is applied to, and
  rewrites the totals those answers feed, audited with the editor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.models import (AnswerGrade, AppliedItem, BankComment, GradingClaim, GradingQueue,
                              ManualScore, RubricItem, RubricPart)
from gradebook.queues import GRADED, NEEDS_REGRADE, UNGRADED, Task, now_utc
from gradebook.rubric import Item, Part, Question, Rubric, part_points, question_points
from gradebook.scores import default_max
from gradebook.store import audit

WEB = "web"
MAX_COMMENT = 20_000
MAX_ITEM_TEXT = 2_000
ITEM_KEYS = "1234567890"


class ClaimTaken(UserError):
    """Another grader holds an unexpired claim on the answer."""


# --- views --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemView:
    id: int
    key: str  # the number key that applies it ("" beyond the tenth item)
    points: float
    fixed: bool
    text: str
    note: str


@dataclass(frozen=True)
class PartView:
    id: int
    name: str
    max_points: float
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class GradeView:
    applied: frozenset[int]
    adjustment: float
    comment: str
    points: float | None
    status: str
    flagged: bool
    flag_note: str
    grader: str
    graded_at: datetime | None


def rubric_parts(session: Session, queue_id: int) -> list[PartView]:
    """The queue's rubric: its parts and their live items, in order, with number keys."""
    parts = list(session.scalars(select(RubricPart).where(RubricPart.queue_id == queue_id)
                                 .order_by(RubricPart.position, RubricPart.id)))
    items: dict[int, list[RubricItem]] = {p.id: [] for p in parts}
    if parts:
        for item in session.scalars(select(RubricItem).where(
                RubricItem.part_id.in_(list(items)), RubricItem.deleted_at.is_(None))
                .order_by(RubricItem.position, RubricItem.id)):
            items[item.part_id].append(item)
    out: list[PartView] = []
    n = 0
    for part in parts:
        views = []
        for item in items[part.id]:
            views.append(ItemView(item.id, ITEM_KEYS[n] if n < len(ITEM_KEYS) else "",
                                  item.points, item.fixed, item.text, item.note))
            n += 1
        out.append(PartView(part.id, part.name, part.max_points, tuple(views)))
    return out


def rubric_of(engine: Engine, queue_id: int) -> list[PartView]:
    with Session(engine) as session:
        return rubric_parts(session, queue_id)


def grade_of(engine: Engine, queue_id: int, student_id: str) -> GradeView | None:
    with Session(engine) as session:
        grade = session.scalars(select(AnswerGrade).where(
            AnswerGrade.queue_id == queue_id, AnswerGrade.student_id == student_id)).first()
        if grade is None:
            return None
        applied = frozenset(session.scalars(select(AppliedItem.item_id).where(
            AppliedItem.answer_id == grade.id)))
        return GradeView(applied, grade.adjustment, grade.comment, grade.points, grade.status,
                         grade.flagged, grade.flag_note, grade.grader, grade.graded_at)


def score(parts: list[PartView], applied: set[int], adjustment: float,
          question_max: float) -> float:
    """The points of a grade under the scoring rule of `gradebook.rubric`."""
    totals = []
    for part in parts:
        chosen = [(i.points, i.fixed) for i in part.items if i.id in applied]
        totals.append(part_points(part.max_points, chosen))
    return question_points(question_max, totals, adjustment)


# --- totals -------------------------------------------------------------------------------

def _newest_score(session: Session, student_id: str, component: str,
                  slug: str | None) -> ManualScore | None:
    query = select(ManualScore).where(ManualScore.student_id == student_id,
                                      ManualScore.component == component)
    query = query.where(ManualScore.slug.is_(None) if slug is None else ManualScore.slug == slug)
    return session.scalars(query.order_by(ManualScore.id.desc()).limit(1)).first()


def _feeds(session: Session, queue: GradingQueue) -> list[int]:
    """The queues whose grades add up to the manual score `queue` feeds."""
    if queue.component != "written":
        return [queue.id]
    return list(session.scalars(select(GradingQueue.id).where(
        GradingQueue.component == "written", GradingQueue.slug == queue.slug)))


def _write_total(session: Session, course: Course, queue: GradingQueue, student_id: str,
                 by: str) -> None:
    """Write the manual score `queue` feeds for the student when its points changed."""
    graded = list(session.scalars(select(AnswerGrade).where(
        AnswerGrade.queue_id.in_(_feeds(session, queue)), AnswerGrade.student_id == student_id,
        AnswerGrade.points.is_not(None))))
    if not graded:
        return
    slug = queue.slug or None
    points = sum(g.points or 0.0 for g in graded)
    maximum = default_max(course, queue.component, slug)
    points = min(points, maximum)
    comment = "" if queue.component == "written" else graded[0].comment
    old = _newest_score(session, student_id, queue.component, slug)
    if old is not None and old.source == WEB and math.isclose(old.points, points) \
            and old.comment == comment:
        return
    session.add(ManualScore(student_id=student_id, component=queue.component, slug=slug,
                            points=points, max_points=maximum, grader=by, comment=comment,
                            source=WEB))
    where = f" / {slug}" if slug else ""
    audit(session, "manual_score", f"student {student_id}{where} / {queue.component}",
          component=queue.component, slug=slug,
          old_points=None if old is None else old.points, new_points=points,
          max_points=maximum, grader=by, source=WEB, by=by)


def import_override(engine: Engine, queue: GradingQueue, student_id: str) -> ManualScore | None:
    """The imported score that replaced the web grades of the student's total, if any:
    the newest manual score the queue feeds, when it was not written by the web pages."""
    with Session(engine, expire_on_commit=False) as session:
        newest = _newest_score(session, student_id, queue.component, queue.slug or None)
        if newest is None or newest.source == WEB:
            return None
        graded = session.scalars(select(AnswerGrade.graded_at).where(
            AnswerGrade.queue_id.in_(_feeds(session, queue)),
            AnswerGrade.student_id == student_id, AnswerGrade.points.is_not(None))).all()
        return newest if graded else None


def imported_students(engine: Engine, queue: GradingQueue) -> dict[str, ManualScore]:
    """student_id -> the imported score replacing their web-graded total (for a queue page)."""
    with Session(engine, expire_on_commit=False) as session:
        feeds = _feeds(session, queue)
        graded = set(session.scalars(select(AnswerGrade.student_id).where(
            AnswerGrade.queue_id.in_(feeds), AnswerGrade.points.is_not(None))))
        query = select(ManualScore).where(ManualScore.component == queue.component)
        query = query.where(ManualScore.slug.is_(None) if not queue.slug
                            else ManualScore.slug == queue.slug)
        newest: dict[str, ManualScore] = {}
        for row in session.scalars(query.order_by(ManualScore.id)):
            newest[row.student_id] = row
    return {sid: row for sid, row in newest.items() if sid in graded and row.source != WEB}


# --- grading ---------------------------------------------------------------------------------

def _number(value: float, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not low <= value <= high:
        raise UserError(f"{what} must be a number from {low:g} to {high:g}")
    return float(value)


def _grade_row(session: Session, queue_id: int, task: Task) -> AnswerGrade:
    grade = session.scalars(select(AnswerGrade).where(
        AnswerGrade.queue_id == queue_id, AnswerGrade.student_id == task.student_id)).first()
    if grade is None:
        grade = AnswerGrade(queue_id=queue_id, student_id=task.student_id,
                            submission_id=task.submission_id, adjustment=0.0, comment="",
                            points=None, status=UNGRADED, flagged=False, flag_note="",
                            grader="")
        session.add(grade)
        session.flush()
    return grade


def _check_claim(session: Session, queue_id: int, student_id: str, grader: str,
                 now: datetime) -> None:
    claim = session.get(GradingClaim, (queue_id, student_id))
    if claim is not None and claim.grader != grader and claim.expires_at >= now:
        raise ClaimTaken(f"{claim.grader} is grading this answer right now; take the next "
                         f"one (their claim ends at {claim.expires_at:%H:%M} UTC)")


def submit_grade(course: Course, engine: Engine, queue: GradingQueue, task: Task, grader: str,
                 item_ids: set[int], adjustment: float, comment: str) -> float:
    """Store the grader's grade of the task; returns its points.

    UserError for an item that is not in the queue's rubric, an adjustment beyond the
    question's points or an over-long comment; `ClaimTaken` when another grader holds the
    answer.
    """
    adjustment = _number(adjustment, "the adjustment", -queue.points, queue.points)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise UserError(f"the comment has {len(comment):,} characters; keep it under "
                        f"{MAX_COMMENT:,}")
    now = now_utc()
    with Session(engine) as session, session.begin():
        _check_claim(session, queue.id, task.student_id, grader, now)
        parts = rubric_parts(session, queue.id)
        known = {i.id for p in parts for i in p.items}
        unknown = set(item_ids) - known
        if unknown:
            raise UserError("a rubric item you chose is not in this question's rubric any "
                            "more (it was deleted); reload the page and choose again")
        for part in parts:
            fixed = [i for i in part.items if i.fixed and i.id in item_ids]
            if len(fixed) > 1:
                raise UserError(f"part {part.name!r}: choose at most one fixed score "
                                f"(chosen: {', '.join(i.text for i in fixed)})")
        points = score(parts, set(item_ids), adjustment, queue.points)
        grade = _grade_row(session, queue.id, task)
        old = grade.points
        session.execute(delete(AppliedItem).where(AppliedItem.answer_id == grade.id))
        for item_id in sorted(item_ids):
            session.add(AppliedItem(answer_id=grade.id, item_id=item_id))
        grade.adjustment, grade.comment, grade.points = adjustment, comment, points
        grade.status, grade.grader, grade.graded_at = GRADED, grader, now
        if task.submission_id is not None:
            grade.submission_id = task.submission_id
        session.execute(delete(GradingClaim).where(GradingClaim.queue_id == queue.id,
                                                   GradingClaim.student_id == task.student_id))
        session.flush()
        audit(session, "answer_grade", f"student {task.student_id} / {_where(queue)}",
              queue=queue.id, old_points=old, new_points=points, items=sorted(item_ids),
              adjustment=adjustment, by=grader)
        _write_total(session, course, queue, task.student_id, grader)
    return points


def _where(queue: GradingQueue) -> str:
    parts = [p for p in (queue.slug, queue.component, queue.question) if p]
    return " / ".join(parts)


def flag(engine: Engine, queue: GradingQueue, task: Task, grader: str, note: str) -> None:
    """Ask the instructor to look at this answer."""
    note = (note or "").strip()[:MAX_ITEM_TEXT]
    with Session(engine) as session, session.begin():
        grade = _grade_row(session, queue.id, task)
        grade.flagged, grade.flag_note = True, note
        audit(session, "answer_flag", f"student {task.student_id} / {_where(queue)}",
              queue=queue.id, note=note, by=grader)


def unflag(engine: Engine, queue: GradingQueue, task: Task, by: str) -> None:
    with Session(engine) as session, session.begin():
        grade = _grade_row(session, queue.id, task)
        grade.flagged, grade.flag_note = False, ""
        audit(session, "answer_unflag", f"student {task.student_id} / {_where(queue)}",
              queue=queue.id, by=by)


def flagged(engine: Engine, queue_id: int) -> list[AnswerGrade]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(AnswerGrade).where(
            AnswerGrade.queue_id == queue_id, AnswerGrade.flagged.is_(True))))


# --- editing the rubric --------------------------------------------------------------------

def _item_in_queue(session: Session, queue: GradingQueue, item_id: int) -> RubricItem:
    item = session.get(RubricItem, item_id)
    part = session.get(RubricPart, item.part_id) if item is not None else None
    if item is None or part is None or part.queue_id != queue.id or item.deleted_at:
        raise LookupError("there is no such rubric item in this question")
    return item


def _check_item(queue: GradingQueue, part: RubricPart, points: float, fixed: bool,
                text: str, note: str) -> tuple[float, str, str]:
    text, note = (text or "").strip(), (note or "").strip()
    if not text:
        raise UserError("a rubric item needs a description the student sees")
    if len(text) > MAX_ITEM_TEXT or len(note) > MAX_ITEM_TEXT:
        raise UserError(f"keep an item's description and note under {MAX_ITEM_TEXT:,} "
                        f"characters")
    low = 0.0 if fixed else -queue.points
    high = part.max_points if fixed else queue.points
    kind = "a fixed score" if fixed else "an item's points"
    points = _number(points, f"{kind} in part {part.name!r}", low, high)
    return points, text, note


def _rescore(session: Session, course: Course, queue: GradingQueue, answer_ids: list[int],
             by: str) -> int:
    """Recompute the points of the given answers; rewrite the totals they feed."""
    parts = rubric_parts(session, queue.id)
    changed = 0
    for grade in session.scalars(select(AnswerGrade).where(AnswerGrade.id.in_(answer_ids))):
        if grade.points is None:
            continue
        applied = set(session.scalars(select(AppliedItem.item_id).where(
            AppliedItem.answer_id == grade.id)))
        points = score(parts, applied, grade.adjustment, queue.points)
        if not math.isclose(points, grade.points):
            audit(session, "answer_rescore", f"student {grade.student_id} / {_where(queue)}",
                  queue=queue.id, old_points=grade.points, new_points=points, by=by)
            grade.points = points
            changed += 1
        session.flush()
        _write_total(session, course, queue, grade.student_id, by)
    return changed


def _answers_with(session: Session, item_id: int) -> list[int]:
    return list(session.scalars(select(AppliedItem.answer_id).where(
        AppliedItem.item_id == item_id)))


def edit_item(course: Course, engine: Engine, queue: GradingQueue, item_id: int, *,
              points: float, fixed: bool, text: str, note: str, by: str) -> int:
    """Change an item; returns how many answers' points changed (re-scored, audited)."""
    with Session(engine) as session, session.begin():
        item = _item_in_queue(session, queue, item_id)
        part = session.get(RubricPart, item.part_id)
        points, text, note = _check_item(queue, part, points, fixed, text, note)
        old = {"points": item.points, "fixed": item.fixed, "text": item.text}
        item.points, item.fixed, item.text, item.note = points, fixed, text, note
        session.flush()
        audit(session, "rubric_item", f"{_where(queue)} / item {item_id}", queue=queue.id,
              old=old, new={"points": points, "fixed": fixed, "text": text}, by=by)
        return _rescore(session, course, queue, _answers_with(session, item_id), by)


def add_item(engine: Engine, queue: GradingQueue, part_id: int, *, points: float, fixed: bool,
             text: str, note: str, by: str) -> int:
    """A new item at the end of the part; returns its id."""
    with Session(engine) as session, session.begin():
        part = session.get(RubricPart, part_id)
        if part is None or part.queue_id != queue.id:
            raise LookupError("there is no such rubric part in this question")
        points, text, note = _check_item(queue, part, points, fixed, text, note)
        last = session.scalars(select(RubricItem.position).where(RubricItem.part_id == part_id)
                               .order_by(RubricItem.position.desc()).limit(1)).first()
        item = RubricItem(part_id=part_id, position=(last or 0) + 1, points=points, fixed=fixed,
                          text=text, note=note)
        session.add(item)
        session.flush()
        audit(session, "rubric_item_add", f"{_where(queue)} / item {item.id}", queue=queue.id,
              part=part.name, points=points, fixed=fixed, text=text, by=by)
        return item.id


def delete_item(course: Course, engine: Engine, queue: GradingQueue, item_id: int,
                by: str) -> int:
    """Remove an item from the rubric and from every answer it was applied to (re-scored);
    returns how many answers' points changed."""
    with Session(engine) as session, session.begin():
        item = _item_in_queue(session, queue, item_id)
        item.deleted_at = now_utc()
        answers = _answers_with(session, item_id)
        session.execute(delete(AppliedItem).where(AppliedItem.item_id == item_id))
        session.flush()
        audit(session, "rubric_item_delete", f"{_where(queue)} / item {item_id}",
              queue=queue.id, text=item.text, points=item.points, answers=len(answers), by=by)
        return _rescore(session, course, queue, answers, by)


def edit_part(engine: Engine, queue: GradingQueue, part_id: int | None, *, name: str,
              max_points: float, by: str) -> int:
    """Rename a part or change its maximum (part_id None: add a part); returns its id.

    The parts should add up to the question's points; the page says when they do not.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise UserError("a rubric part needs a name of at most 200 characters")
    max_points = _number(max_points, "a part's maximum", 0.0, queue.points)
    if max_points <= 0:
        raise UserError("a part's maximum must be above 0")
    with Session(engine) as session, session.begin():
        if part_id is None:
            count = len(session.scalars(select(RubricPart.id).where(
                RubricPart.queue_id == queue.id)).all())
            part = RubricPart(queue_id=queue.id, position=count, name=name,
                              max_points=max_points)
            session.add(part)
        else:
            part = session.get(RubricPart, part_id)
            if part is None or part.queue_id != queue.id:
                raise LookupError("there is no such rubric part in this question")
            part.name, part.max_points = name, max_points
        session.flush()
        audit(session, "rubric_part", f"{_where(queue)} / part {part.id}", queue=queue.id,
              name=name, max_points=max_points, by=by)
        return part.id


def regrade_all_with(engine: Engine, queue: GradingQueue, item_id: int, by: str) -> int:
    """Mark every graded answer with the item for regrading ("next" offers them first);
    returns how many."""
    with Session(engine) as session, session.begin():
        _item_in_queue(session, queue, item_id)
        answers = _answers_with(session, item_id)
        marked = 0
        for grade in session.scalars(select(AnswerGrade).where(AnswerGrade.id.in_(answers))):
            if grade.status == GRADED:
                grade.status = NEEDS_REGRADE
                marked += 1
        audit(session, "regrade_all", f"{_where(queue)} / item {item_id}", queue=queue.id,
              answers=marked, by=by)
        return marked


def parts_total(parts: list[PartView]) -> float:
    return sum(p.max_points for p in parts)


def as_question(queue: GradingQueue, parts: list[PartView]) -> Question:
    """The queue's rubric in the rubric file's terms (for exporting)."""
    return Question(id=queue.question or queue.component, points=queue.points,
                    code_cells=tuple(queue.code_cells or ()),
                    parts=tuple(Part(p.name, p.max_points,
                                     tuple(Item(i.points, i.text, i.note, i.fixed)
                                           for i in p.items)) for p in parts))


def export_rubric(engine: Engine, queue_list: list[GradingQueue]) -> Rubric:
    with Session(engine) as session:
        return Rubric(tuple(as_question(q, rubric_parts(session, q.id)) for q in queue_list))


# --- the comment bank ----------------------------------------------------------------------

def bank(engine: Engine, queue_id: int) -> list[BankComment]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(BankComment).where(BankComment.queue_id == queue_id)
                                    .order_by(BankComment.id)))


def add_to_bank(engine: Engine, queue_id: int, text: str, by: str) -> None:
    text = (text or "").strip()
    if not text or len(text) > MAX_ITEM_TEXT:
        raise UserError(f"a saved comment needs 1 to {MAX_ITEM_TEXT:,} characters")
    with Session(engine) as session, session.begin():
        exists = session.scalars(select(BankComment.id).where(
            BankComment.queue_id == queue_id, BankComment.text == text)).first()
        if exists is None:
            session.add(BankComment(queue_id=queue_id, text=text, created_by=by))


def remove_from_bank(engine: Engine, queue_id: int, comment_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(BankComment).where(BankComment.queue_id == queue_id,
                                                  BankComment.id == comment_id))


@dataclass(frozen=True)
class StudentGrade:
    """One of a student's grades by question, for their gradebook page."""

    queue: GradingQueue
    grade: AnswerGrade
    items: tuple[str, ...]  # the applied items' student texts


def student_grades(engine: Engine, student_id: str) -> list[StudentGrade]:
    """The student's grades in every queue, in queue order."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(select(GradingQueue, AnswerGrade).join(
            AnswerGrade, AnswerGrade.queue_id == GradingQueue.id)
            .where(AnswerGrade.student_id == student_id)
            .order_by(GradingQueue.position, GradingQueue.id)).all()
        texts: dict[int, list[str]] = {}
        ids = [grade.id for _, grade in rows]
        if ids:
            for answer_id, text in session.execute(
                    select(AppliedItem.answer_id, RubricItem.text)
                    .join(RubricItem, RubricItem.id == AppliedItem.item_id)
                    .where(AppliedItem.answer_id.in_(ids)).order_by(RubricItem.position)):
                texts.setdefault(answer_id, []).append(text)
    return [StudentGrade(queue, grade, tuple(texts.get(grade.id, ()))) for queue, grade in rows]
