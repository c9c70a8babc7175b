"""`course grade SLUG`: grade every notebook that has no result yet, committing one by one.

Work is the set of distinct notebook contents of the module without a grading run (under
any suite hash; with `regrade`, without one under the current suite hash:
`gradebook.runs.pending`). Identical notebooks are therefore graded once. The executor
(autograder/executors/) grades; this process is the only writer and commits each result
as it arrives, so a run killed at any moment resumes where it stopped and never grades
anything twice. Grader errors are not stored: the next run retries them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from autograder import scratch
from autograder.config import Course
from autograder.engine import GradeOutcome
from autograder.executors import make_executor, threads_per_grading
from autograder.request import build_request
from gradebook import runs


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


def grade_batch(course: Course, engine: Engine, slug: str, workers: int = 2,
                regrade: bool = False,
                progress: Callable[[int, int], None] | None = None,
                executor: str = "local",
                note: Callable[[str], None] | None = None,
                backend: str | None = None) -> BatchSummary:
    """Grade what is pending with the named executor (`local`, `slurm` or `dask`);
    `progress(done, total)` after each submission, `note(line)` for executor news."""
    threads = threads_per_grading(course, executor, workers)
    with scratch.folder("batch") as tmp:
        request = build_request(course, slug, Path(tmp) / "submission.ipynb",
                                backend=backend, threads=threads)
        todo = runs.pending(engine, slug, request.suite_hash, regrade)
        summary = BatchSummary(to_grade=len(todo))
        summary.swept = scratch.sweep()  # what killed runs left: notebooks, reference code
        if not todo:
            return summary
        started = time.monotonic()
        requests = []
        for sha, notebook in runs.contents(engine, todo):
            path = Path(tmp) / f"{sha}.ipynb"
            path.write_bytes(notebook)
            requests.append(request.for_submission(path))
        done = 0

        def on_done(index: int, outcome: GradeOutcome | Exception) -> None:
            nonlocal done
            done += 1
            sha = todo[index]
            if isinstance(outcome, Exception):
                summary.failed.append(f"{sha[:12]}: {str(outcome).splitlines()[0][:200]}")
            else:
                runs.record_run(engine, slug, sha, request.suite_hash, outcome)
                summary.graded += 1
                summary.scores.append(outcome.score)
                summary.max_score = outcome.max_score
                summary.integrity_flags += bool(outcome.results["extra_data"].get("integrity_flags"))
            if progress:
                progress(done, len(todo))

        make_executor(course, slug, executor, workers, note).grade_all(requests, on_done)
    summary.seconds = time.monotonic() - started
    return summary
