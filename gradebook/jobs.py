"""The portal's grading queue: one `GradingJob` per upload, graded by `course worker`.

States: `queued` (waiting; not before `not_before`) -> `grading` (held by one worker
until `lease_expires`, renewed by its heartbeat) -> `done` (a graded run of the content
under the worker's suite hash exists) or, after a grader error, `queued` again with a
backoff, and `failed` after `MAX_TRIES` tries (the error text is kept).

What holds:
- A claim hands a job to exactly one worker: on PostgreSQL the claimable rows are read
  with `SELECT ... FOR UPDATE SKIP LOCKED` and updated in the same transaction; on
  SQLite each job is taken by a conditional UPDATE whose row count says who won.
  A job whose lease expired is claimable again (its worker died or stalled).
- `finish` stores a result only while the worker still holds an unexpired lease, in the
  transaction that marks the job done; a result of a lost lease is discarded. A content
  is graded once per suite: the run is added only when none exists for (module, content,
  suite hash), which the table's unique constraint also guards.
- On SQLite one worker runs at a time (`register_worker` refuses a second); on
  PostgreSQL any number may.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, and_, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autograder.core.errors import UserError
from autograder.engine import GradeOutcome
from gradebook import runs
from gradebook.models import GradingJob, GradingWorker, Submission

QUEUED, GRADING, DONE, FAILED = "queued", "grading", "done", "failed"
MAX_TRIES = 3  # grader errors before a job is marked failed
BACKOFF = timedelta(seconds=30)  # times the number of tries so far
ERROR_KEPT = 2000  # characters of a grader error kept with the job


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _claimable(now: datetime):
    """Queued and due, or held under a lease that has expired."""
    return or_(and_(GradingJob.state == QUEUED, GradingJob.not_before <= now),
               and_(GradingJob.state == GRADING, GradingJob.lease_expires < now))


def _held_by(worker_name: str, now: datetime):
    """Held by this worker under a lease that has not expired."""
    return and_(GradingJob.state == GRADING, GradingJob.lease_owner == worker_name,
                GradingJob.lease_expires >= now)


# --- the queue ------------------------------------------------------------------------------

def enqueue(session: Session, submission: Submission,
            not_before: datetime | None = None) -> GradingJob:
    """Add a queued job for the submission in the caller's transaction (committed with the
    upload). A content already graded under the current suite is not graded again: the
    worker marks such a job done without grading it."""
    if submission.id is None:
        session.flush()
    now = now_utc()
    job = GradingJob(submission_id=submission.id, student_id=submission.student_id,
                     slug=submission.slug, sha256=submission.sha256, state=QUEUED,
                     created_at=now, not_before=not_before or now, lease_owner="",
                     tries=0, error="")
    session.add(job)
    session.flush()
    return job


def claim(engine: Engine, worker_name: str, limit: int, lease: timedelta,
          now: datetime | None = None) -> list[GradingJob]:
    """Take up to `limit` claimable jobs, oldest first; each is held by this worker alone
    until now + `lease` (tries counted up by one)."""
    now = now or now_utc()
    if limit < 1:
        return []
    if engine.dialect.name == "postgresql":
        return _claim_locking(engine, worker_name, limit, now, now + lease)
    return _claim_conditional(engine, worker_name, limit, now, now + lease)


def _oldest_first(query):
    return query.order_by(GradingJob.created_at, GradingJob.id)


def _claim_locking(engine: Engine, worker_name: str, limit: int, now: datetime,
                   until: datetime) -> list[GradingJob]:
    """PostgreSQL: lock the rows (skipping those another claim has locked), then update."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        found = list(session.scalars(_oldest_first(select(GradingJob).where(_claimable(now)))
                                     .limit(limit).with_for_update(skip_locked=True)))
        for job in found:
            job.state, job.lease_owner, job.lease_expires = GRADING, worker_name, until
            job.tries += 1
    return found


def _claim_conditional(engine: Engine, worker_name: str, limit: int, now: datetime,
                       until: datetime) -> list[GradingJob]:
    """SQLite: one conditional UPDATE per candidate, each in its own transaction; the
    row count says whether this worker won it."""
    with Session(engine) as session:
        candidates = list(session.scalars(_oldest_first(
            select(GradingJob.id).where(_claimable(now))).limit(limit * 4)))
    won: list[int] = []
    for job_id in candidates:
        if len(won) == limit:
            break
        with Session(engine) as session, session.begin():
            taken = session.execute(
                update(GradingJob).where(GradingJob.id == job_id, _claimable(now))
                .values(state=GRADING, lease_owner=worker_name, lease_expires=until,
                        tries=GradingJob.tries + 1)
                .execution_options(synchronize_session=False)).rowcount
        if taken == 1:
            won.append(job_id)
    return _load(engine, won)


def _load(engine: Engine, job_ids: list[int]) -> list[GradingJob]:
    if not job_ids:
        return []
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(_oldest_first(
            select(GradingJob).where(GradingJob.id.in_(job_ids)))))


def heartbeat(engine: Engine, worker_name: str, job_ids: list[int] | set[int],
              lease: timedelta, now: datetime | None = None) -> set[int]:
    """Extend to now + `lease` the leases this worker still holds among `job_ids` (an
    expired lease stays lost) and the worker's own heartbeat; returns the ids held."""
    now = now or now_utc()
    ids = list(job_ids)
    with Session(engine) as session, session.begin():
        session.execute(update(GradingWorker).where(GradingWorker.name == worker_name)
                        .values(heartbeat_at=now).execution_options(synchronize_session=False))
        if not ids:
            return set()
        session.execute(update(GradingJob).where(GradingJob.id.in_(ids), _held_by(worker_name, now))
                        .values(lease_expires=now + lease)
                        .execution_options(synchronize_session=False))
        return set(session.scalars(select(GradingJob.id).where(
            GradingJob.id.in_(ids), _held_by(worker_name, now))))


def _mark_done(session: Session, job_id: int, worker_name: str, now: datetime) -> bool:
    return session.execute(
        update(GradingJob).where(GradingJob.id == job_id, _held_by(worker_name, now))
        .values(state=DONE, finished_at=now, error="")
        .execution_options(synchronize_session=False)).rowcount == 1


def finish(engine: Engine, job: GradingJob, worker_name: str, suite_hash: str,
           outcome: GradeOutcome | None, now: datetime | None = None) -> bool:
    """Mark the job done and store its run, in one transaction; False (nothing stored)
    when this worker no longer holds the job's lease. `outcome` None: the content was
    already graded under `suite_hash`, nothing to add. A run that exists for (module,
    content, suite hash) is kept and no second one is added."""
    now = now or now_utc()
    for _attempt in range(2):  # a concurrent worker may store the same content first
        try:
            with Session(engine) as session, session.begin():
                if not _mark_done(session, job.id, worker_name, now):
                    return False
                if outcome is not None and not runs.graded_contents(
                        session, job.slug, suite_hash, [job.sha256]):
                    runs.store_run(session, job.slug, job.sha256, suite_hash, outcome)
            return True
        except IntegrityError:
            continue  # rolled back; the run now exists, so the retry only marks done
    return False


def fail(engine: Engine, job: GradingJob, worker_name: str, error: str,
         now: datetime | None = None) -> str | None:
    """A grader error: the job is queued again after a backoff (tries x `BACKOFF`), or
    `failed` once it has had `MAX_TRIES` tries; the error text is kept. Returns the new
    state, None when this worker no longer held the lease (nothing changed)."""
    now = now or now_utc()
    with Session(engine) as session, session.begin():
        tries = session.scalars(select(GradingJob.tries).where(
            GradingJob.id == job.id, _held_by(worker_name, now))).first()
        if tries is None:
            return None
        state = FAILED if tries >= MAX_TRIES else QUEUED
        values = {"state": state, "error": error[:ERROR_KEPT], "lease_expires": None}
        values.update({"finished_at": now} if state == FAILED
                      else {"not_before": now + BACKOFF * tries})
        changed = session.execute(update(GradingJob).where(
            GradingJob.id == job.id, _held_by(worker_name, now)).values(**values)
            .execution_options(synchronize_session=False)).rowcount
    return state if changed == 1 else None


def release(engine: Engine, worker_name: str, job_ids: list[int] | set[int] | None = None
            ) -> int:
    """A clean stop: this worker's jobs (all it holds, or those among `job_ids`) go back
    to the queue at once, their interrupted try not counted; returns how many."""
    where = [GradingJob.state == GRADING, GradingJob.lease_owner == worker_name]
    if job_ids is not None:
        where.append(GradingJob.id.in_(list(job_ids)))
    with Session(engine) as session, session.begin():
        return session.execute(
            update(GradingJob).where(*where)
            .values(state=QUEUED, lease_owner="", lease_expires=None,
                    tries=case((GradingJob.tries > 0, GradingJob.tries - 1), else_=0))
            .execution_options(synchronize_session=False)).rowcount


def outstanding(engine: Engine, now: datetime | None = None) -> int:
    """Jobs a worker could still get: queued and due, or held by a lease (which ends in
    a result or expires). Jobs deferred past now are not counted."""
    now = now or now_utc()
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(GradingJob).where(or_(
            and_(GradingJob.state == QUEUED, GradingJob.not_before <= now),
            GradingJob.state == GRADING))) or 0


# --- what the student's page shows -----------------------------------------------------------

def position(engine: Engine, job_id: int) -> int | None:
    """The job's 1-based place among the queued jobs in claim order (oldest first); None
    when it is not queued (being graded, done or failed) or does not exist."""
    with Session(engine) as session:
        job = session.get(GradingJob, job_id)
        if job is None or job.state != QUEUED:
            return None
        ahead = session.scalar(select(func.count()).select_from(GradingJob).where(
            GradingJob.state == QUEUED,
            or_(GradingJob.created_at < job.created_at,
                and_(GradingJob.created_at == job.created_at, GradingJob.id < job.id)))) or 0
    return ahead + 1


def job_state(engine: Engine, submission_id: int) -> tuple[str | None, int | None]:
    """(state, queue position) of the submission's newest job; (None, None) without one."""
    with Session(engine) as session:
        job_id = session.scalar(select(func.max(GradingJob.id))
                                .where(GradingJob.submission_id == submission_id))
        state = session.get(GradingJob, job_id).state if job_id is not None else None
    if job_id is None:
        return None, None
    return state, position(engine, job_id)


# --- workers ----------------------------------------------------------------------------------

def worker_name() -> str:
    """host:pid:random, unique per running worker."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{os.urandom(3).hex()}"


def _alive(name: str) -> bool:
    """False only for a worker of this host whose process is gone (killed before it
    could unregister); any other worker counts as alive while its heartbeat is recent."""
    host, _, rest = name.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register_worker(engine: Engine, name: str, lease: timedelta,
                    now: datetime | None = None) -> None:
    """Record a running worker. On SQLite, a UserError when another worker's heartbeat is
    within `lease` (and its process is not known dead): one worker per SQLite gradebook.
    Rows of workers gone (heartbeat older than `lease`, or a dead process of this host)
    are removed.
    The row is written before the check, so two workers starting at once serialize on
    SQLite's write lock and the second one sees the first."""
    now = now or now_utc()
    with Session(engine) as session, session.begin():
        session.execute(delete(GradingWorker).where(GradingWorker.heartbeat_at < now - lease))
        session.add(GradingWorker(name=name, started_at=now, heartbeat_at=now))
        session.flush()
        others = list(session.scalars(select(GradingWorker.name).where(
            GradingWorker.name != name).order_by(GradingWorker.started_at)))
        dead = [w for w in others if not _alive(w)]
        if dead:
            session.execute(delete(GradingWorker).where(GradingWorker.name.in_(dead)))
        others = [w for w in others if w not in dead]
        if others and engine.dialect.name == "sqlite":  # raised inside the transaction: the row is rolled back
            raise UserError(f"another course worker ({others[0]}) is running on this SQLite "
                            f"gradebook; stop it first, or use PostgreSQL for several workers")


def unregister_worker(engine: Engine, name: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(GradingWorker).where(GradingWorker.name == name))
