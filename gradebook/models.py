"""The gradebook's tables (SQLAlchemy 2, typed declarative models).

Notebooks are content-addressed (`Blob` by sha256); a `Submission` is one student's
attempt pointing at a blob. A `GradingRun` is keyed by (module, blob, suite hash), so an
identical notebook is graded once, and a suite change leaves old runs in place.
Every score change also writes an `AuditEntry` (append-only).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC on every backend (SQLite would drop a non-UTC offset and
    read the local clock time back as if it were UTC); naive values are taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "students"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the course's student id
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    lms_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # Moodle/Canvas id


class Module(Base):
    __tablename__ = "modules"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    bundle: Mapped[str] = mapped_column(String(500), default="")


class Blob(Base):
    """A notebook's bytes, stored once per content."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class Submission(Base):
    """One attempt of one student at one module."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "slug", "attempt"),
                      UniqueConstraint("student_id", "slug", "sha256"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    attempt: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    time_source: Mapped[str] = mapped_column(String(32))  # "lms" | "collected"
    source_name: Mapped[str] = mapped_column(String(500))  # file name in the batch
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GradingRun(Base):
    """The result of one suite version on one notebook content."""

    __tablename__ = "grading_runs"
    __table_args__ = (UniqueConstraint("slug", "sha256", "suite_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    suite_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))  # "graded"
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    result: Mapped[dict] = mapped_column(JSON)  # the full results.json
    log: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ManualScore(Base):
    """A score entered by staff: written, module_report (per module), presentation, bonus."""

    __tablename__ = "manual_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    component: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str | None] = mapped_column(String(64), nullable=True)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    grader: Mapped[str] = mapped_column(String(100), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    # where the score came from: "web" (the grading pages) or the imported file and line
    source: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Extension(Base):
    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Override(Base):
    """A changed autograded score for one test (a regrade request)."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    test_name: Mapped[str] = mapped_column(String(200))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Append-only record of every score change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))  # "grade", "manual_score", "override", ...
    entity: Mapped[str] = mapped_column(String(200))  # e.g. "student s1 / transformer"
    detail: Mapped[dict] = mapped_column(JSON)


class PublishedModule(Base):
    """A module whose results staff have published (`course publish`)."""

    __tablename__ = "published_modules"

    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(100), default="")


class User(Base):
    """A person who signs in to the web app: staff (instructor, ta) or a roster student.

    `session_version` is copied into every session cookie at sign-in; raising it (logout,
    a new password) makes every older cookie of this user invalid on the server side.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(16))  # "instructor" | "ta" | "student"
    student_id: Mapped[str | None] = mapped_column(ForeignKey("students.id"), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # argon2
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserToken(Base):
    """A one-time link to set a password: only the token's sha256 is stored."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))  # "set_password"
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- grading in the web app: queues, rubrics in use, per-question grades ----------------

class GradingQueue(Base):
    """One thing staff grade for every student: a written question of a module
    (component "written", question = its grade_id) or a manual component
    ("module_report" per module; "presentation", "bonus" course-wide: slug "").

    `seed` fixes the queue's random order and its opaque answer handles.
    """

    __tablename__ = "grading_queues"
    __table_args__ = (UniqueConstraint("component", "slug", "question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str] = mapped_column(String(64), default="")
    question: Mapped[str] = mapped_column(String(200), default="")
    points: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the grading page
    seed: Mapped[str] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    code_cells: Mapped[list] = mapped_column(JSON, default=list)  # grade_ids shown beside


class RubricPart(Base):
    __tablename__ = "rubric_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("grading_queues.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[float] = mapped_column(Float)


class RubricItem(Base):
    """A rubric item in use; a deleted item keeps its row (answers it was applied to
    lose it and are re-scored) so the audit log's references stay readable."""

    __tablename__ = "rubric_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("rubric_parts.id"))
    position: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)
    fixed: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AnswerGrade(Base):
    """One student's grade on one queue: applied items (`AppliedItem`), adjustment, comment.

    `points` is the scoring rule of `gradebook.rubric` applied to them, kept current when
    an item's points change. `status` is "graded" or "needs_regrade" ("regrade all with
    item X"); `flagged` asks the instructor to look.
    """

    __tablename__ = "answer_grades"
    __table_args__ = (UniqueConstraint("queue_id", "student_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("grading_queues.id"))
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"),
                                                      nullable=True)
    adjustment: Mapped[float] = mapped_column(Float, default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: not graded
    status: Mapped[str] = mapped_column(String(16), default="ungraded")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_note: Mapped[str] = mapped_column(Text, default="")
    grader: Mapped[str] = mapped_column(String(200), default="")
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AppliedItem(Base):
    __tablename__ = "applied_items"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answer_grades.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rubric_items.id"), primary_key=True)


class GradingClaim(Base):
    """A grader's hold on one answer until `expires_at` (so two graders never grade the
    same answer at once); an expired claim is free for anyone to take over."""

    __tablename__ = "grading_claims"

    queue_id: Mapped[int] = mapped_column(ForeignKey("grading_queues.id"), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), primary_key=True)
    grader: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GradingSkip(Base):
    """An answer a grader skipped: "next ungraded" passes it over for that grader."""

    __tablename__ = "grading_skips"

    queue_id: Mapped[int] = mapped_column(ForeignKey("grading_queues.id"), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), primary_key=True)
    grader: Mapped[str] = mapped_column(String(200), primary_key=True)


class BankComment(Base):
    """A reusable comment of one queue's comment bank."""

    __tablename__ = "comment_bank"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("grading_queues.id"))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- the student portal: grading jobs, their workers, publications, chosen attempts -----

class GradingJob(Base):
    """One uploaded submission waiting for (or done with) grading by `course worker`.

    Committed with its submission before the upload is acknowledged. A worker holds a job
    while `lease_expires` is in the future (renewed by its heartbeat); a job whose lease
    expired is queued again, and the result of an expired lease is discarded.
    `not_before` defers a job past the student's hourly grading limit.
    """

    __tablename__ = "grading_jobs"
    __table_args__ = (Index("ix_grading_jobs_state", "state", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"))
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|grading|done|failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_expires: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")


class GradingWorker(Base):
    """A running `course worker`, seen alive while its heartbeat is recent."""

    __tablename__ = "grading_workers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid:random
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Publication(Base):
    """Staff released something to students: a module's written scores (kind "written",
    with rubric items and comments) or the final grades (kind "final", slug "").
    Test results after publication use `PublishedModule`."""

    __tablename__ = "publications"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200), default="")


class AttemptChoice(Base):
    """The attempt a student chose to count (`portal.attempt = "student_choice"`)."""

    __tablename__ = "attempt_choices"

    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), primary_key=True)
    slug: Mapped[str] = mapped_column(ForeignKey("modules.slug"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
