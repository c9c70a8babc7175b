"""Grading jobs of the student portal (placeholder until the worker lands)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gradebook.models import GradingJob, Submission


def enqueue(session: Session, submission: Submission,
            not_before: datetime | None = None) -> GradingJob:
    job = GradingJob(submission_id=submission.id, student_id=submission.student_id,
                     slug=submission.slug, sha256=submission.sha256, state="queued",
                     not_before=not_before or datetime.now(timezone.utc), lease_owner="",
                     tries=0, error="")
    session.add(job)
    session.flush()
    return job


def position(engine: Engine, job_id: int) -> int | None:
    with Session(engine) as session:
        job = session.get(GradingJob, job_id)
        if job is None or job.state != "queued":
            return None
        return int(session.scalar(select(func.count()).where(
            GradingJob.state == "queued", GradingJob.id <= job_id)) or 0)
