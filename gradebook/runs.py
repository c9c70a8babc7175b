"""Grading runs in the gradebook: which notebook contents still need one, and storing one.

A run is keyed by (module, content, suite hash), unique in the table, so a content is
graded once per suite and a batch killed at any moment resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.engine import GradeOutcome
from gradebook.models import Blob, GradingRun, Submission
from gradebook.store import audit

LOG_KEPT = 5000  # characters of a run's pytest log kept with it


def pending(engine: Engine, slug: str, current_hash: str, regrade: bool) -> list[str]:
    """Contents (sha256) of the module's submissions that still need a grading run: those
    without any run, or with `regrade`, without one under `current_hash`."""
    with Session(engine) as session:
        shas = list(session.scalars(select(Submission.sha256).where(Submission.slug == slug)
                                    .distinct().order_by(Submission.sha256)))
        done_q = select(GradingRun.sha256).where(GradingRun.slug == slug)
        if regrade:
            done_q = done_q.where(GradingRun.suite_hash == current_hash)
        done = set(session.scalars(done_q))
    return [s for s in shas if s not in done]


def contents(engine: Engine, shas: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """(sha, stored notebook) for each content hash, read in one session."""
    with Session(engine) as session:
        for sha in shas:
            yield sha, session.get(Blob, sha).content


def record_run(engine: Engine, slug: str, sha: str, suite_hash: str,
               outcome: GradeOutcome) -> None:
    """Store a graded run and its audit entry in one transaction."""
    with Session(engine) as session, session.begin():
        store_run(session, slug, sha, suite_hash, outcome)


def store_run(session: Session, slug: str, sha: str, suite_hash: str,
              outcome: GradeOutcome) -> None:
    """Add a graded run and its audit entry in the caller's transaction (the one code
    path of `record_run` and of the portal's worker, `gradebook.jobs.finish`)."""
    session.add(GradingRun(slug=slug, sha256=sha, suite_hash=suite_hash, status="graded",
                           score=outcome.score, max_score=outcome.max_score,
                           result=outcome.results, log=outcome.log[-LOG_KEPT:]))
    audit(session, "grade", f"notebook {sha[:12]} / {slug}", score=outcome.score,
          max_score=outcome.max_score, suite_hash=suite_hash)


def graded_contents(session: Session, slug: str, suite_hash: str,
                    shas: Iterable[str]) -> set[str]:
    """The contents among `shas` that already have a graded run under `suite_hash`."""
    wanted = list(set(shas))
    if not wanted:
        return set()
    return set(session.scalars(select(GradingRun.sha256).where(
        GradingRun.slug == slug, GradingRun.suite_hash == suite_hash,
        GradingRun.status == "graded", GradingRun.sha256.in_(wanted))))
