"""Executors grade many requests and report each outcome to the one process that writes
the gradebook: `local` (a fork server on this machine, the default), `slurm` (one
`sbatch --array` job, a task per submission) and `dask` (a `dask.distributed` cluster).

Every executor has `grade_all(requests, on_done)`: it calls `on_done(index, outcome or
exception)` exactly once per request, in the process that called it.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from autograder.engine import GradeOutcome, GradeRequest

Done = Callable[[int, "GradeOutcome | Exception"], None]
NAMES = ("local", "slurm", "dask")


class Executor(Protocol):
    def grade_all(self, requests: Sequence[GradeRequest], on_done: Done | None = None
                  ) -> list[GradeOutcome | Exception]: ...
