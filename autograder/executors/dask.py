"""Grading over `dask.distributed` (optional extra `dask`): the same interface as the
local pool and Slurm. Each task is `run_suite` on one request in a worker process; the
results come back here, to the gradebook's single writer.

Tests use a `LocalCluster`. On a Slurm cluster, start one with dask-jobqueue and pass its
scheduler address (docs/grading-at-scale.md):

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=2, memory="8GB", job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=8)
    # then: COURSE_DASK_SCHEDULER=<cluster.scheduler_address> course grade SLUG -e dask
"""

from __future__ import annotations

import os
from typing import Sequence

from autograder.engine import GradeOutcome, run_suite
from autograder.request import GradeRequest
from autograder.core.errors import GraderError, UserError
from autograder.executors import Done

SCHEDULER_VAR = "COURSE_DASK_SCHEDULER"


def _grade(request: GradeRequest) -> GradeOutcome | Exception:
    """Runs on a dask worker; grader errors travel back as values, not as task failures."""
    try:
        return run_suite(request)
    except (GraderError, UserError) as exc:
        return GraderError(str(exc))


class DaskExecutor:
    def __init__(self, workers: int = 2, address: str | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UserError("the dask executor needs dask.distributed: "
                            "pip install 'fdl-course[dask]'") from None
        self.workers = max(1, workers)
        self.address = address or os.environ.get(SCHEDULER_VAR)

    def grade_all(self, requests: Sequence[GradeRequest], on_done: Done | None = None
                  ) -> list[GradeOutcome | Exception]:
        from distributed import Client, LocalCluster, as_completed

        results: list[GradeOutcome | Exception | None] = [None] * len(requests)
        if not requests:
            return []
        cluster = None
        if self.address:
            client = Client(self.address)
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster)
        try:
            futures = {client.submit(_grade, req, pure=False, key=f"grade-{i}-{os.getpid()}"): i
                       for i, req in enumerate(requests)}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker, a pickling error
                    outcome = GraderError(f"dask task failed: {type(exc).__name__}: {exc}")
                results[i] = outcome
                if on_done:
                    on_done(i, outcome)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return results  # type: ignore[return-value]
