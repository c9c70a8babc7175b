"""`course grade SLUG`: grade every notebook that has no result yet, committing one by one.

Work is the set of distinct notebook contents of the module without a grading run (under
any suite hash; with `regrade`, without one under the current suite hash). Identical
notebooks are therefore graded once. Grading runs in pre-started processes
(`ForkPool`); this process is the only writer and commits each result as it arrives, so
a run killed at any moment resumes where it stopped and never grades anything twice
(the (module, content, suite hash) key is unique). Grader errors are not stored: the
next run retries them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder import scratch
from autograder.config import Course
from autograder.engine import GradeOutcome, GradeRequest
from autograder.core.errors import UserError
from autograder.executors import NAMES, Executor
from autograder.layout import module_layout
from autograder.sandbox.backends import resolve_backend
from autograder.pool import ForkPool
from autograder.suite_hash import suite_hash
from gradebook.models import Blob, GradingRun, Submission
from gradebook.store import audit


@dataclass
class BatchSummary:
    """The numbers `course grade` prints at the end."""

    to_grade: int = 0
    graded: int = 0
    failed: list[str] = field(default_factory=list)  # "sha...: grader error"
    integrity_flags: int = 0
    scores: list[float] = field(default_factory=list)
    max_score: float = 0.0
    seconds: float = 0.0
    swept: int = 0  # scratch folders of killed runs removed first

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def pending(engine: Engine, slug: str, current_hash: str, regrade: bool) -> list[str]:
    """Contents of the module's submissions that still need a grading run."""
    with Session(engine) as session:
        shas = list(session.scalars(select(Submission.sha256).where(Submission.slug == slug)
                                    .distinct().order_by(Submission.sha256)))
        done_q = select(GradingRun.sha256).where(GradingRun.slug == slug)
        if regrade:
            done_q = done_q.where(GradingRun.suite_hash == current_hash)
        done = set(session.scalars(done_q))
    return [s for s in shas if s not in done]


def grade_batch(course: Course, engine: Engine, slug: str, workers: int = 2,
                regrade: bool = False,
                progress: Callable[[int, int], None] | None = None,
                executor: str = "local",
                note: Callable[[str], None] | None = None,
                backend: str | None = None) -> BatchSummary:
    """Grade what is pending with the named executor (`local`, `slurm` or `dask`);
    `progress(done, total)` after each submission, `note(line)` for executor news."""
    layout = module_layout(course, slug)
    layout.require("master", "hidden_suite")
    current = suite_hash(layout, course.sandbox)
    chosen = resolve_backend(course, backend)
    todo = pending(engine, slug, current, regrade)
    summary = BatchSummary(to_grade=len(todo))
    summary.swept = scratch.sweep()  # what killed runs left: notebooks, reference code
    started = time.monotonic()
    if not todo:
        return summary
    threads = (course.slurm.cpus_per_task if executor == "slurm"
               else max(1, (os.cpu_count() or 1) // max(1, workers)))
    device = course.module(slug).grading_device
    with scratch.folder("batch") as tmp:
        requests = []
        with Session(engine) as session:
            for sha in todo:
                path = Path(tmp) / f"{sha}.ipynb"
                path.write_bytes(session.get(Blob, sha).content)
                requests.append(GradeRequest(suite=[layout.hidden_suite], submission=path,
                                             master=layout.master, limits=course.sandbox,
                                             suite_hash=current, threads=threads,
                                             sandbox_kind=chosen.sandbox_kind,
                                             image=chosen.image, gpus=chosen.gpus,
                                             device=device))
        done = 0

        def on_done(index: int, outcome: GradeOutcome | Exception) -> None:
            nonlocal done
            done += 1
            sha = todo[index]
            if isinstance(outcome, Exception):
                summary.failed.append(f"{sha[:12]}: {str(outcome).splitlines()[0][:200]}")
            else:
                _commit(engine, slug, sha, current, outcome)
                summary.graded += 1
                summary.scores.append(outcome.score)
                summary.max_score = outcome.max_score
                summary.integrity_flags += bool(outcome.results["extra_data"].get("integrity_flags"))
            if progress:
                progress(done, len(todo))

        _executor(course, slug, executor, workers, layout.hidden_suite, note
                  ).grade_all(requests, on_done)
    summary.seconds = time.monotonic() - started
    return summary


def _commit(engine: Engine, slug: str, sha: str, current: str, outcome: GradeOutcome) -> None:
    with Session(engine) as session, session.begin():
        session.add(GradingRun(slug=slug, sha256=sha, suite_hash=current, status="graded",
                               score=outcome.score, max_score=outcome.max_score,
                               result=outcome.results, log=outcome.log[-5000:]))
        audit(session, "grade", f"notebook {sha[:12]} / {slug}", score=outcome.score,
              max_score=outcome.max_score, suite_hash=current)


def _executor(course: Course, slug: str, name: str, workers: int, suite: Path,
              note: Callable[[str], None] | None) -> Executor:
    if name == "local":
        return ForkPool.for_suite(suite, workers)
    if name == "slurm":
        from autograder.executors.slurm import SlurmExecutor

        return SlurmExecutor(course.slurm, course.resolve(course.slurm.workdir), slug,
                             gpu=course.module(slug).gpu, progress_note=note)
    if name == "dask":
        from autograder.executors.dask import DaskExecutor

        return DaskExecutor(workers=workers)
    raise UserError(f"unknown executor {name!r}; choose one of {', '.join(NAMES)}")

