"""Executors grade many requests and report each outcome to the one process that writes
the gradebook: `local` (a fork server on this machine, the default), `slurm` (one
`sbatch --array` job, a task per submission) and `dask` (a `dask.distributed` cluster).

Every executor has `grade_all(requests, on_done)`: it calls `on_done(index, outcome or
exception)` exactly once per request, in the process that called it.
"""

from __future__ import annotations

import os
from typing import Callable, Protocol, Sequence

from autograder.config import Course
from autograder.core.errors import UserError
from autograder.engine import GradeOutcome
from autograder.request import GradeRequest

Done = Callable[[int, "GradeOutcome | Exception"], None]
NAMES = ("local", "slurm", "dask")


class Executor(Protocol):
    def grade_all(self, requests: Sequence[GradeRequest], on_done: Done | None = None
                  ) -> list[GradeOutcome | Exception]: ...


def threads_per_grading(course: Course, executor: str, workers: int) -> int:
    """Intra-op threads of each grading: a Slurm task's own CPUs, else this machine's
    cores shared by the `workers` parallel gradings."""
    if executor == "slurm":
        return course.slurm.cpus_per_task
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def make_executor(course: Course, slug: str, name: str, workers: int,
                  note: Callable[[str], None] | None = None) -> Executor:
    """The executor `name` for module `slug`'s requests; `note(line)` for its news."""
    if name == "local":
        from autograder.layout import module_layout
        from autograder.pool import ForkPool

        return ForkPool.for_suite(module_layout(course, slug).hidden_suite, workers)
    if name == "slurm":
        from autograder.executors.slurm import SlurmExecutor

        return SlurmExecutor(course.slurm, course.resolve(course.slurm.workdir), slug,
                             gpu=course.module(slug).gpu, progress_note=note)
    if name == "dask":
        from autograder.executors.dask import DaskExecutor

        return DaskExecutor(workers=workers)
    raise UserError(f"unknown executor {name!r}; choose one of {', '.join(NAMES)}")
