"""Grading queues: what staff grade in the web app, in which order, and who holds what.

- A queue per written question of each module (component `written`, question = the
  master cell's grade_id), per module for `module_report`, and one each for
  `presentation` and `bonus` (`sync_queues` creates the missing ones; a queue's rubric is
  copied from the rubric file once, then edited in the database: `gradebook.marking`).
- A queue's tasks: for a written question every student with a counted attempt of the
  module (`gradebook.results`: the answer is read from that attempt's notebook); for the
  other components every student of the roster.
- Order: a fixed random order per queue, the sort order of each task's handle, where
  handle = sha256(queue seed, student id) cut to 16 hex digits. Handles name answers in
  URLs, so an anonymous queue's URLs do not show student ids.
- Claims: `next_ungraded` gives a grader the first task in queue order that is not graded
  (or is marked for regrading), not held by another grader's unexpired claim and not
  skipped by this grader, and claims it until now + `CLAIM_TTL`. The claim is one row per
  (queue, student): an insert, or, where the row exists but has expired, a conditional
  update; either succeeds for exactly one grader, on SQLite and on PostgreSQL. A grader
  already holding an unexpired claim in the queue gets that task back.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.models import (AnswerGrade, AuditEntry, Extension, GradingClaim, GradingQueue, GradingSkip,
                              RubricItem, RubricPart, Student, Submission)
from gradebook.results import counted_results
from gradebook.rubric import (Question, course_rubric_path, default_question, load_rubric,
                              module_rubric_path)
from gradebook.scores import COURSE_WIDE, default_max
from gradebook.written import master_questions

CLAIM_TTL = timedelta(minutes=20)
HANDLE_DIGITS = 16
GRADED = "graded"
NEEDS_REGRADE = "needs_regrade"
UNGRADED = "ungraded"
COMPONENT_TITLES = {"written": "Written", "module_report": "Module report",
                    "presentation": "Presentation", "bonus": "Bonus (good questions)"}


@dataclass(frozen=True)
class Task:
    """One student's answer in a queue."""

    student_id: str
    name: str
    handle: str
    submission_id: int | None  # the counted attempt (written questions), else None


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def handle_of(seed: str, student_id: str) -> str:
    return hashlib.sha256(f"{seed}:{student_id}".encode()).hexdigest()[:HANDLE_DIGITS]


def queue_title(course: Course, queue: GradingQueue) -> str:
    """E.g. "Transformer · written_scaling" or "Presentation"."""
    if queue.component == "written":
        return f"{course.module(queue.slug).title} · {queue.question}"
    name = COMPONENT_TITLES.get(queue.component, queue.component)
    return f"{course.module(queue.slug).title} · {name}" if queue.slug else name


# --- creating the queues ----------------------------------------------------------------

def _wanted(course: Course) -> list[tuple[str, str, str, float, Question | None]]:
    """(component, slug, question, points, rubric entry) of every queue the course has."""
    out: list[tuple[str, str, str, float, Question | None]] = []
    for spec in course.modules:
        rubric = load_rubric(module_rubric_path(course, spec.slug))
        try:
            questions = master_questions(course, spec.slug)
        except UserError:
            questions = []  # no master yet: only the module report is graded
        for q in questions:
            out.append(("written", spec.slug, q.grade_id, q.points,
                        rubric.question(q.grade_id) if rubric else None))
        out.append(("module_report", spec.slug, "",
                    default_max(course, "module_report", spec.slug),
                    rubric.question("module_report") if rubric else None))
    shared = load_rubric(course_rubric_path(course))
    for component in COURSE_WIDE:
        out.append((component, "", "", default_max(course, component, None),
                    shared.question(component) if shared else None))
    return out


def _add_rubric(session: Session, queue: GradingQueue, question: Question) -> None:
    for p, part in enumerate(question.parts):
        row = RubricPart(queue_id=queue.id, position=p, name=part.name,
                         max_points=float(part.max_points))
        session.add(row)
        session.flush()
        for i, item in enumerate(part.items):
            session.add(RubricItem(part_id=row.id, position=i, points=float(item.points),
                                   fixed=item.fixed, text=item.text, note=item.note))


def sync_queues(course: Course, engine: Engine) -> int:
    """Create the queues the course has and the gradebook lacks; returns how many.

    A new queue's rubric comes from the rubric file, or is one part worth the question's
    points with no items (`gradebook.rubric.default_question`) when the file has none.
    """
    created = 0
    with Session(engine) as session, session.begin():
        existing = {(q.component, q.slug, q.question): q
                    for q in session.scalars(select(GradingQueue))}
        for position, (component, slug, question, points, entry) in enumerate(_wanted(course)):
            found = existing.get((component, slug, question))
            if found is not None:
                found.position = position
                continue
            queue = GradingQueue(component=component, slug=slug, question=question,
                                 points=float(points), position=position,
                                 seed=secrets.token_hex(8), anonymous=False,
                                 code_cells=list(entry.code_cells) if entry else [])
            session.add(queue)
            session.flush()
            _add_rubric(session, queue, entry or default_question(question or component,
                                                                  points))
            created += 1
    return created


def queues(engine: Engine) -> list[GradingQueue]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(GradingQueue).order_by(GradingQueue.position,
                                                                  GradingQueue.id)))


def get_queue(engine: Engine, queue_id: int) -> GradingQueue:
    with Session(engine, expire_on_commit=False) as session:
        queue = session.get(GradingQueue, queue_id)
    if queue is None:
        raise LookupError(f"there is no grading queue {queue_id}")
    return queue


# --- the tasks ------------------------------------------------------------------------------

_TASKS: dict[tuple[int, int, str], tuple[tuple, list[Task]]] = {}
_TASKS_LOCK = threading.Lock()


def _inputs_version(session: Session, slug: str) -> tuple:
    """Changes whenever the inputs of a queue's task list change: the roster (each import
    writes an audit entry), the module's submissions and its extensions (their rows are
    only ever added)."""
    roster = session.execute(select(
        select(func.count()).select_from(Student).scalar_subquery(),
        select(func.max(AuditEntry.id)).where(AuditEntry.action == "roster_import")
        .scalar_subquery())).one()
    subs = session.execute(select(func.count(), func.max(Submission.id))
                           .where(Submission.slug == slug)).one() if slug else ()
    ext = session.execute(select(func.count(), func.max(Extension.id))
                          .where(Extension.slug == slug)).one() if slug else ()
    return tuple(roster), tuple(subs), tuple(ext)


def tasks(course: Course, engine: Engine, queue: GradingQueue) -> list[Task]:
    """The queue's tasks in its fixed random order.

    The list is computed once per state of its inputs (`_inputs_version`) and reused
    while they stay the same: the counted attempts of a module take tens of milliseconds
    to work out, and every grading action needs the list.
    """
    with Session(engine) as session:
        version = _inputs_version(session, queue.slug if queue.component == "written" else "")
        key = (id(engine), queue.id, queue.seed)
        with _TASKS_LOCK:
            cached = _TASKS.get(key)
        if cached is not None and cached[0] == version:
            return list(cached[1])
        names = dict(session.execute(select(Student.id, Student.name)).all())
    if queue.component == "written":
        counted = counted_results(course, engine, queue.slug, with_tests=False)
        pairs = [(sid, result.submission_id) for (sid, _), result in counted.items()]
    else:
        pairs = [(sid, None) for sid in names]
    out = [Task(sid, names.get(sid, ""), handle_of(queue.seed, sid), sub) for sid, sub in pairs]
    out.sort(key=lambda t: t.handle)
    with _TASKS_LOCK:
        _TASKS[key] = (version, out)
    return list(out)


def grade_states(session: Session, queue_id: int) -> dict[str, AnswerGrade]:
    return {g.student_id: g for g in session.scalars(
        select(AnswerGrade).where(AnswerGrade.queue_id == queue_id))}


def grades_by_student(engine: Engine, queue_id: int) -> dict[str, AnswerGrade]:
    """student_id -> their grade row in the queue (students without one are absent)."""
    with Session(engine, expire_on_commit=False) as session:
        return grade_states(session, queue_id)


def is_done(grade: AnswerGrade | None) -> bool:
    return grade is not None and grade.status == GRADED


# --- claims ---------------------------------------------------------------------------------

def _try_claim(session: Session, queue_id: int, student_id: str, grader: str,
               now: datetime, ttl: timedelta) -> bool:
    """Claim one task in its own transaction; True when this grader holds it afterwards."""
    until = now + ttl
    try:
        session.add(GradingClaim(queue_id=queue_id, student_id=student_id, grader=grader,
                                 expires_at=until))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
    taken = session.execute(
        update(GradingClaim)
        .where(GradingClaim.queue_id == queue_id, GradingClaim.student_id == student_id,
               or_(GradingClaim.expires_at < now, GradingClaim.grader == grader))
        .values(grader=grader, expires_at=until)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return taken == 1


def held_by_others(session: Session, queue_id: int, grader: str, now: datetime) -> set[str]:
    return set(session.scalars(select(GradingClaim.student_id).where(
        GradingClaim.queue_id == queue_id, GradingClaim.grader != grader,
        GradingClaim.expires_at >= now)))


def claim_holder(engine: Engine, queue_id: int, student_id: str,
                 now: datetime | None = None) -> str | None:
    """The grader holding an unexpired claim on the task, or None."""
    now = now or now_utc()
    with Session(engine) as session:
        claim = session.get(GradingClaim, (queue_id, student_id))
        if claim is None or claim.expires_at < now:
            return None
        return claim.grader


def next_ungraded(course: Course, engine: Engine, queue: GradingQueue, grader: str, *,
                  now: datetime | None = None, ttl: timedelta = CLAIM_TTL) -> Task | None:
    """Claim and return the grader's next task; None when nothing is left for them."""
    now = now or now_utc()
    ordered = tasks(course, engine, queue)
    with Session(engine) as session:
        states = grade_states(session, queue.id)
        mine = set(session.scalars(select(GradingClaim.student_id).where(
            GradingClaim.queue_id == queue.id, GradingClaim.grader == grader,
            GradingClaim.expires_at >= now)))
        others = held_by_others(session, queue.id, grader, now)
        skipped = set(session.scalars(select(GradingSkip.student_id).where(
            GradingSkip.queue_id == queue.id, GradingSkip.grader == grader)))
        open_tasks = [t for t in ordered if not is_done(states.get(t.student_id))]
        for task in open_tasks:
            if task.student_id in mine:
                return task
        # needs_regrade first, then never graded, each in queue order
        open_tasks.sort(key=lambda t: states.get(t.student_id) is None
                        or states[t.student_id].status != NEEDS_REGRADE)
        for task in open_tasks:
            if task.student_id in others or task.student_id in skipped:
                continue
            if not _try_claim(session, queue.id, task.student_id, grader, now, ttl):
                continue
            # Graded by someone else after the states above were read: a submit commits
            # the grade and drops its claim together, so once this claim is held, a
            # fresh read shows every grade that could race with it.
            if _graded_now(session, queue.id, task.student_id):
                _drop_claim(session, queue.id, task.student_id, grader)
                continue
            return task
    return None


def _graded_now(session: Session, queue_id: int, student_id: str) -> bool:
    status = session.scalars(select(AnswerGrade.status).where(
        AnswerGrade.queue_id == queue_id, AnswerGrade.student_id == student_id)).first()
    session.commit()
    return status == GRADED


def _release(queue_id: int, student_id: str, grader: str):
    """The statement that drops this grader's claim on the task."""
    return delete(GradingClaim).where(GradingClaim.queue_id == queue_id,
                                      GradingClaim.student_id == student_id,
                                      GradingClaim.grader == grader)


def _drop_claim(session: Session, queue_id: int, student_id: str, grader: str) -> None:
    session.execute(_release(queue_id, student_id, grader))
    session.commit()


def claim(engine: Engine, queue: GradingQueue, student_id: str, grader: str, *,
          now: datetime | None = None, ttl: timedelta = CLAIM_TTL) -> bool:
    """Claim one task (opening an answer to grade it); False when another grader holds it."""
    now = now or now_utc()
    with Session(engine) as session:
        return _try_claim(session, queue.id, student_id, grader, now, ttl)


def release(engine: Engine, queue_id: int, student_id: str, grader: str) -> None:
    """Give back this grader's claim on the task (if they hold it)."""
    with Session(engine) as session, session.begin():
        session.execute(_release(queue_id, student_id, grader))


def skip(engine: Engine, queue_id: int, student_id: str, grader: str) -> None:
    """Pass over the task for this grader and give back their claim."""
    with Session(engine) as session, session.begin():
        if session.get(GradingSkip, (queue_id, student_id, grader)) is None:
            session.add(GradingSkip(queue_id=queue_id, student_id=student_id, grader=grader))
        session.execute(_release(queue_id, student_id, grader))


def clear_skips(engine: Engine, queue_id: int, grader: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(GradingSkip).where(GradingSkip.queue_id == queue_id,
                                                  GradingSkip.grader == grader))


# --- progress -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    queue_id: int
    total: int
    graded: int
    needs_regrade: int
    flagged: int
    by_grader: tuple[tuple[str, int], ...]  # (grader, graded answers), most first


def progress(course: Course, engine: Engine, queue: GradingQueue,
             task_list: list[Task] | None = None) -> Progress:
    """How far the queue is: graded answers among its tasks, per grader."""
    task_list = task_list if task_list is not None else tasks(course, engine, queue)
    wanted = {t.student_id for t in task_list}
    with Session(engine) as session:
        states = [g for g in grade_states(session, queue.id).values() if g.student_id in wanted]
    graded = [g for g in states if g.status == GRADED]
    per: dict[str, int] = {}
    for g in graded:
        per[g.grader] = per.get(g.grader, 0) + 1
    return Progress(queue.id, len(task_list), len(graded),
                    sum(g.status == NEEDS_REGRADE for g in states),
                    sum(bool(g.flagged) for g in states),
                    tuple(sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))))


def set_anonymous(engine: Engine, queue_id: int, anonymous: bool) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(GradingQueue).where(GradingQueue.id == queue_id)
                        .values(anonymous=anonymous))

