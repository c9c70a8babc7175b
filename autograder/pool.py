"""Grading many submissions with pre-started grading processes (a fork server).

`run_suite` pays for a fresh interpreter, pytest and the suite's imports on every
submission. `ForkPool` pays once: the parent imports pytest, the plugin and the heavy
libraries, then forks one child per submission (copy-on-write, milliseconds), which runs
pytest in-process on that submission and exits; up to `workers` children run at once.
Each child still starts its own sandboxed worker for the student's code, so isolation is
exactly that of `run_suite`; only the trusted side is reused. The parent must hold no
threads when it forks, so it never starts a worker itself.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from autograder.engine import GradeOutcome, GradeRequest, check_request, collect_outcome, \
    grading_env, pytest_command
from autograder.errors import GraderError, UserError


@dataclass
class _Running:
    index: int
    request: GradeRequest
    workdir: Path
    started: float
    deadline: float


Done = Callable[[int, "GradeOutcome | Exception"], None]


class ForkPool:
    """Fork-per-submission grading with warm imports; results in request order."""

    def __init__(self, workers: int = 2, preload: Sequence[str] = ("numpy",)) -> None:
        self.workers = max(1, workers)
        import pytest  # noqa: F401 - warm imports shared by every child
        from _pytest.config import default_plugins

        import autograder.plugin  # noqa: F401
        # pytest imports its plugins in pytest.main; imported here, no child pays for them
        for name in [*(f"_pytest.{plugin}" for plugin in default_plugins), *preload]:
            try:
                importlib.import_module(name)
            except ImportError:
                pass

    def grade_all(self, requests: Sequence[GradeRequest],
                  on_done: Done | None = None) -> list[GradeOutcome | Exception]:
        """Grade every request; a failed one yields its exception instead of an outcome."""
        results: list[GradeOutcome | Exception | None] = [None] * len(requests)
        pending = list(enumerate(requests))
        running: dict[int, _Running] = {}
        while pending or running:
            while pending and len(running) < self.workers:
                index, req = pending.pop(0)
                try:
                    check_request(req)
                except (GraderError, UserError) as exc:
                    self._finish(results, index, exc, on_done)
                    continue
                pid, job = self._fork(index, req)
                running[pid] = job
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                self._enforce_deadlines(running)
                time.sleep(0.002)
                continue
            job = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            timed_out = code == -signal.SIGKILL and time.monotonic() >= job.deadline
            try:
                outcome: GradeOutcome | Exception = collect_outcome(
                    job.request, job.workdir / "results.json", timed_out, code, "",
                    time.monotonic() - job.started)
            except GraderError as exc:
                outcome = exc
            finally:
                shutil.rmtree(job.workdir, ignore_errors=True)
            self._finish(results, job.index, outcome, on_done)
        return [r for r in results if r is not None]

    @staticmethod
    def _finish(results: list, index: int, outcome: GradeOutcome | Exception,
                on_done: Done | None) -> None:
        results[index] = outcome
        if on_done is not None:
            on_done(index, outcome)

    def _fork(self, index: int, req: GradeRequest) -> tuple[int, _Running]:
        workdir = Path(tempfile.mkdtemp(prefix="grade-"))
        args = pytest_command(req, workdir / "results.json", workdir)[3:]  # drop python -m pytest
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child: never returns
            code = 70
            try:
                os.setsid()
                _die_with_parent()
                os.chdir(workdir)
                os.environ.update(grading_env(req))
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                import pytest

                code = int(pytest.main(args))
            finally:
                os._exit(code)
        deadline = started + req.limits.wall_seconds_per_submission + req.startup_grace_s
        return pid, _Running(index, req, workdir, started, deadline)

    @staticmethod
    def _enforce_deadlines(running: dict[int, _Running]) -> None:
        now = time.monotonic()
        for pid, job in running.items():
            if now >= job.deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _die_with_parent() -> None:
    """Linux: SIGKILL this child when the pool's process dies (a killed batch leaves no
    orphans grading on)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
