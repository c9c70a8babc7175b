"""The student portal's rules: what a student sees of a module, and accepting an upload.

- A module shows in the portal once released (the schedule's rule: `autograder.schedule`);
  its bundle comes from the release manifest (`dist/manifest.json`), never built here.
- An upload is stored as `course collect` stores a notebook (`gradebook.collect.
  store_notebook`: content hash, next attempt, identical content changes nothing) with the
  server's time as its submission time, and its grading job is committed in the same
  transaction (`gradebook.jobs.enqueue`), so an acknowledged upload is never lost.
- Uploads are refused before the module's release; after the cut-off they are stored
  (they count with late factor 0) and the page says so.
- Grading is limited per student to `portal.gradings_per_hour` jobs in any rolling hour:
  a job past the limit waits (`not_before`) until the window allows it, and at most
  `portal.pending_beyond_limit` such jobs may wait; beyond that an upload is refused with
  the time it can come.
- With `portal.attempt = "student_choice"` the student picks the attempt that counts
  (`choose_attempt`; `gradebook.results.StudentChoice` applies it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.release.manifest import DIST_FOLDER, Manifest
from autograder.schedule import module_status
from gradebook import jobs
from gradebook.aggregate import late_factor
from gradebook.collect import store_notebook
from gradebook.models import AttemptChoice, Extension, GradingJob, Submission
from gradebook.store import audit, write_lock

WINDOW = timedelta(hours=1)


class UploadRefused(UserError):
    """The upload is not accepted now (not released yet, too many waiting); `retry_at` says
    when it may come, where that is known."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- what a student sees ------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    submission_id: int
    attempt: int
    submitted_at: datetime
    file: str
    late_factor: float
    state: str  # queued | waiting (past the hourly limit) | grading | done | failed | collected
    position: int | None  # place in the queue while queued
    not_before: datetime | None
    chosen: bool


@dataclass(frozen=True)
class ModuleCard:
    slug: str
    title: str
    status: str  # released | due | closed (the schedule's words)
    due_at: datetime  # with the student's extensions
    cutoff_at: datetime
    extension_days: int
    bundle: str | None  # the bundle's file name in dist/, None when not released there yet
    attempts: tuple[Attempt, ...]


def dist_folder(course: Course) -> Path:
    """Where `course release` put the bundles (its default folder)."""
    return course.resolve(DIST_FOLDER)


def bundle_file(course: Course, slug: str) -> Path | None:
    """The module's released bundle on disk, or None (not released with `course release`)."""
    folder = dist_folder(course)
    try:
        entry = Manifest.load(folder, course.term).get("assignment", slug)
    except UserError:
        return None
    if entry is None:
        return None
    path = (folder / entry.file).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        return None
    return path


def _extension_days(session: Session, student_id: str, slug: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Extension.days), 0)).where(
        Extension.student_id == student_id, Extension.slug == slug)) or 0)


def released(course: Course, now: datetime) -> list[str]:
    return [m.slug for m in course.modules if module_status(course, m.slug, now) != "upcoming"]


def module_card(course: Course, engine: Engine, student_id: str, slug: str,
                now: datetime | None = None) -> ModuleCard:
    """One released module as the student sees it; LookupError before its release."""
    now = now or datetime.now(timezone.utc)
    status = module_status(course, slug, now)
    if status == "upcoming":
        raise LookupError(f"module {slug!r} is not released yet")
    spec = course.module(slug)
    with Session(engine) as session:
        days = _extension_days(session, student_id, slug)
        subs = list(session.scalars(select(Submission).where(
            Submission.student_id == student_id, Submission.slug == slug)
            .order_by(Submission.attempt)))
        job_rows = {j.submission_id: j for j in session.scalars(select(GradingJob).where(
            GradingJob.student_id == student_id, GradingJob.slug == slug)
            .order_by(GradingJob.id))}
        choice = session.get(AttemptChoice, (student_id, slug))
    due = course.due_at(slug) + timedelta(days=days)
    attempts = []
    for sub in subs:
        job = job_rows.get(sub.id)
        state, position, waits = "collected", None, None
        if job is not None:
            state = job.state
            if state == "queued" and _utc(job.not_before) > now:
                state, waits = "waiting", _utc(job.not_before)
            elif state == "queued":
                position = jobs.position(engine, job.id)
        attempts.append(Attempt(sub.id, sub.attempt, _utc(sub.submitted_at), sub.source_name,
                                late_factor(course, sub.submitted_at, due), state, position,
                                waits, choice is not None and choice.submission_id == sub.id))
    bundle = bundle_file(course, slug)
    return ModuleCard(slug, spec.title, status, due, due + timedelta(days=course.late.cutoff_days),
                      days, bundle.name if bundle else None, tuple(attempts))


def module_cards(course: Course, engine: Engine, student_id: str,
                 now: datetime | None = None) -> list[ModuleCard]:
    now = now or datetime.now(timezone.utc)
    return [module_card(course, engine, student_id, slug, now) for slug in released(course, now)]


# --- accepting an upload ------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted:
    submission_id: int | None  # None: the same notebook was handed in before
    attempt: int | None
    late_factor: float
    not_before: datetime | None  # set when the hourly limit defers the grading


def _slot(session: Session, course: Course, student_id: str, now: datetime) -> datetime:
    """When the student's next grading may start: now, or once the rolling hour allows.
    UploadRefused when `pending_beyond_limit` jobs wait already."""
    limit = course.portal.gradings_per_hour
    starts = sorted(_utc(t) for t in session.scalars(select(GradingJob.not_before).where(
        GradingJob.student_id == student_id, GradingJob.not_before > now - WINDOW)))
    if len(starts) < limit:
        return now
    waiting = sum(t > now for t in starts)
    slot = max(now, starts[-limit] + WINDOW)
    if waiting >= course.portal.pending_beyond_limit:
        raise UploadRefused(f"you have {waiting} upload(s) waiting for grading already (at "
                            f"most {limit} gradings an hour); upload again after "
                            f"{starts[-limit] + WINDOW:%H:%M} UTC", retry_at=slot)
    return slot


def accept_upload(course: Course, engine: Engine, student_id: str, slug: str, content: bytes,
                  filename: str, now: datetime | None = None, *, by: str | None = None
                  ) -> Accepted:
    """Store the notebook and its grading job in one transaction (see the module docstring)."""
    now = now or datetime.now(timezone.utc)
    if module_status(course, slug, now) == "upcoming":
        raise UploadRefused(f"module {slug!r} is not released yet; it opens on "
                            f"{course.release_at(slug):%Y-%m-%d}")
    with write_lock(engine), Session(engine) as session, session.begin():
        days = _extension_days(session, student_id, slug)
        factor = late_factor(course, now, course.due_at(slug) + timedelta(days=days))
        slot = _slot(session, course, student_id, now)
        stored = store_notebook(session, slug, student_id, content, filename, now, "web",
                                action="upload", by=by)
        if stored is None:
            return Accepted(None, None, factor, None)
        jobs.enqueue(session, stored, not_before=slot)
        return Accepted(stored.id, stored.attempt, factor, slot if slot > now else None)


def choose_attempt(course: Course, engine: Engine, student_id: str, slug: str,
                   submission_id: int, *, by: str | None = None) -> None:
    """Count this attempt of the student's (portal.attempt = "student_choice")."""
    if course.portal.attempt != "student_choice":
        raise UserError("in this course the last attempt before the cut-off counts; "
                        "there is nothing to choose")
    with Session(engine) as session, session.begin():
        sub = session.get(Submission, submission_id)
        if sub is None or sub.student_id != student_id or sub.slug != slug:
            raise LookupError("there is no such attempt of yours")
        choice = session.get(AttemptChoice, (student_id, slug))
        if choice is None:
            session.add(AttemptChoice(student_id=student_id, slug=slug, submission_id=sub.id))
        else:
            choice.submission_id, choice.chosen_at = sub.id, datetime.now(timezone.utc)
        audit(session, "attempt_choice", f"student {student_id} / {slug}",
              submission=sub.id, attempt=sub.attempt, by=by)
