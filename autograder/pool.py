"""Grading many submissions with pre-started grading processes (a fork server).

`run_suite` pays for a fresh interpreter, pytest, its configuration and the suite's
collection on every submission. `ForkPool` pays once per batch: the parent imports
pytest, the plugin and the heavy libraries, then runs one pytest session that configures
itself and collects the suite, and in that session's test loop forks one child per
submission (copy-on-write, milliseconds). The child points the plugin at its submission
and runs the collected tests, writes its results and exits; up to `workers` children run
at once. Requests that differ in anything but the submission get a session each.

Each child still starts its own sandboxed worker for the student's code, so isolation is
exactly that of `run_suite`; only the trusted side is reused. The parent must hold no
threads when it forks, so it never starts a worker itself: no test runs in the parent.
"""

from __future__ import annotations

import importlib
import inspect
import json
import linecache
import os
import select
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

from autograder import scratch
from autograder.engine import GradeOutcome, check_request, collect_outcome, grading_env, pytest_command
from autograder.request import GradeRequest
from autograder.core.errors import GraderError, UserError

# pytest's output capture would take over the parent's fds 1 and 2 (a TA's terminal, with
# `course grade`'s progress on it) for the whole batch; children send theirs to /dev/null
SESSION_ARGS = ("--capture=no",)


@dataclass
class _Running:
    index: int
    request: GradeRequest
    workdir: Path
    started: float
    deadline: float
    pidfd: int | None = None  # readable once the child has exited (Linux 5.3+)


Done = Callable[[int, "GradeOutcome | Exception"], None]


class ForkPool:
    """Fork-per-submission grading with warm imports and one collection; results in
    request order."""

    def __init__(self, workers: int = 2, preload: Sequence[str] = ("numpy",)) -> None:
        self.workers = max(1, workers)
        import autograder.plugin  # noqa: F401 - warm imports shared by every child
        from autograder.worker.client import worker_source

        worker_source()  # the worker's program read and framed once here, not per child
        from autograder.sandbox.policy import bwrap_features

        bwrap_features()  # bubblewrap probed once here (about 28 ms), not per child
        for name in ("threadpoolctl", *preload):
            try:
                importlib.import_module(name)
            except ImportError:
                pass

    @classmethod
    def for_suite(cls, suite: Path, workers: int = 2) -> "ForkPool":
        """A pool whose parent has imported what the suite imports that is slow to import:
        numpy always, torch when the suite imports it."""
        uses_torch = "import torch" in Path(suite).read_text(encoding="utf-8")
        return cls(workers, preload=("numpy", "numpy.random", *(("torch",) if uses_torch else ())))

    def grade_all(self, requests: Sequence[GradeRequest],
                  on_done: Done | None = None) -> list[GradeOutcome | Exception]:
        """Grade every request; a failed one yields its exception instead of an outcome."""
        results: list[GradeOutcome | Exception | None] = [None] * len(requests)

        def finish(index: int, outcome: GradeOutcome | Exception) -> None:
            results[index] = outcome
            if on_done is not None:
                on_done(index, outcome)

        groups: dict[str, list[int]] = {}
        for index, req in enumerate(requests):
            try:
                check_request(req)
            except (GraderError, UserError) as exc:
                finish(index, exc)
                continue
            groups.setdefault(_session_key(req), []).append(index)
        for indices in groups.values():
            self._grade_group([(i, requests[i]) for i in indices], finish)
        return [r for r in results if r is not None]

    def _grade_group(self, jobs: list[tuple[int, GradeRequest]],
                     finish: Callable[[int, GradeOutcome | Exception], None]) -> None:
        """One pytest session for requests that differ only in their submission."""
        scheduler = _Scheduler(jobs, self.workers, finish)
        with scratch.folder("session") as tmp:
            first = jobs[0][1]
            args = pytest_command(first, Path(tmp) / "unused.json", Path(tmp),
                                  limit_self=False)[3:] + list(SESSION_ARGS)
            saved = dict(os.environ)
            os.environ.update(grading_env(first))  # no plugin autoload, thread counts
            try:
                code = pytest.main(args, plugins=[scheduler])
            except BaseException:
                if scheduler.in_child:
                    os._exit(70)
                raise
            finally:
                if not scheduler.in_child:
                    os.environ.clear()
                    os.environ.update(saved)
            if scheduler.in_child:  # a child ends here, never back in the caller
                os._exit(int(code))
        if scheduler.error is not None:
            raise scheduler.error
        for index, _req in scheduler.unstarted():  # the session ended before its test loop
            finish(index, GraderError(f"the grading session ended before grading started "
                                      f"(pytest exit status {int(code)})"))


def _session_key(req: GradeRequest) -> str:
    """Requests with equal keys share one configured and collected session."""
    data = req.to_json()
    del data["submission"]
    return json.dumps(data, sort_keys=True)


class _Scheduler:
    """pytest plugin of the pool's session: its test loop forks the children.

    In the parent, `pytest_runtestloop` forks a child per job and waits for them; it
    returns True, so pytest's own loop never runs there. In a child it points the
    grading plugin at the child's submission and returns None: pytest's own loop then
    runs the collected tests, and the session ends as in any pytest process.
    """

    def __init__(self, jobs: list[tuple[int, GradeRequest]], workers: int,
                 finish: Callable[[int, GradeOutcome | Exception], None]) -> None:
        self.pending = list(jobs)
        self.workers = workers
        self.finish = finish
        self.running: dict[int, _Running] = {}
        self.in_child = False
        self.error: BaseException | None = None
        self.started_any = False

    def unstarted(self) -> list[tuple[int, GradeRequest]]:
        return [] if self.started_any else self.pending

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        self.started_any = True
        # nothing of the session belongs on the TA's terminal: not the parent's summary,
        # not the children's progress (their file objects may not be on fds 1 and 2)
        session.config.pluginmanager.unregister(name="terminalreporter")
        _warm_failure_reports(session)
        try:
            while self.pending or self.running:
                while self.pending and len(self.running) < self.workers:
                    index, req = self.pending.pop(0)
                    if self._fork(session, index, req):
                        return None  # the child: pytest's own loop runs its tests
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    self._enforce_deadlines()
                    self._wait_for_a_child()
                    continue
                if pid in self.running:
                    self._collect(self.running.pop(pid), os.waitstatus_to_exitcode(status))
        except BaseException as exc:  # noqa: BLE001 - re-raised by grade_all, after pytest
            self.error = exc
            for pid, job in self.running.items():
                _kill_group(pid)
                _close(job.pidfd)
        return True

    def _wait_for_a_child(self) -> None:
        """Sleep until a child exits or the nearest deadline passes: on the children's
        pidfds where the kernel has them, else in 2 ms naps (waking 500 times a second
        costs the parent CPU that the children need)."""
        fds = [job.pidfd for job in self.running.values() if job.pidfd is not None]
        if not fds or len(fds) < len(self.running):
            time.sleep(0.002)
            return
        nearest = min(job.deadline for job in self.running.values())
        poller = select.poll()  # not select(): no limit on descriptor numbers
        for fd in fds:
            poller.register(fd, select.POLLIN)
        poller.poll(max(0.0, nearest - time.monotonic()) * 1000)

    def _fork(self, session: pytest.Session, index: int, req: GradeRequest) -> bool:
        """Fork the job's child; True in the child, once it is set up."""
        workdir = scratch.make("grade")
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            self.in_child = True
            for job in self.running.values():  # the siblings' pidfds are the parent's
                _close(job.pidfd)
            try:
                os.setsid()
                _die_with_parent()
                os.chdir(workdir)
                os.environ.update(grading_env(req))
                _limit_threads(req.threads)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                from autograder.plugin import plugin_key

                session.config.stash[plugin_key].start_submission(
                    req.submission, workdir / "results.json",
                    trusted=(req.limits.trusted_memory_mb, req.limits.trusted_cpu_seconds))
            except BaseException:  # noqa: BLE001 - a child never returns to the caller
                os._exit(70)
            return True
        deadline = started + req.limits.wall_seconds_per_submission + req.startup_grace_s
        self.running[pid] = _Running(index, req, workdir, started, deadline, _pidfd(pid))
        return False

    def _collect(self, job: _Running, code: int) -> None:
        _close(job.pidfd)
        timed_out = code == -signal.SIGKILL and time.monotonic() >= job.deadline
        try:
            outcome: GradeOutcome | Exception = collect_outcome(
                job.request, job.workdir / "results.json", timed_out, code, "",
                time.monotonic() - job.started)
        except GraderError as exc:
            outcome = exc
        finally:
            shutil.rmtree(job.workdir, ignore_errors=True)
        self.finish(job.index, outcome)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for pid, job in self.running.items():
            if now >= job.deadline:
                _kill_group(pid)


def _warm_failure_reports(session: pytest.Session) -> None:
    """Fill, once in the parent, the caches that pytest's first failure report fills in
    every child: `inspect.getmodule` maps each loaded module's real path (a realpath per
    module, 50 ms with torch or pytest loaded) and linecache holds the suite's lines. Without
    this, a submission that fails a test takes 0.1 s longer to grade than one that passes."""
    inspect.getmodule(compile("", "<fork pool>", "exec"))  # a file no module has: full scan
    for path in {str(item.path) for item in session.items}:
        linecache.getlines(path)


def _pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when `pid` exits; None where the kernel or
    Python has none (then the parent naps and polls)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _close(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _limit_threads(threads: int | None) -> None:
    """Size the child's thread pools as its environment says. The parent imported numpy
    and torch before that environment was set, and OpenBLAS and OpenMP read it once, at
    load: without this, every child runs torch on all cores (the transformer's mutants take
    18-35 s each rather than 3-9 s, two children fighting over two cores)."""
    if not threads:
        return
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


def _kill_group(pid: int) -> None:
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
