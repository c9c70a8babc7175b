"""`course worker`: grade the portal's queued uploads (`gradebook.jobs`) as they arrive.

The loop: claim up to `workers` jobs, grade them per module as `course grade` does (one
request built by `build_request`, each job's notebook written to `<sha>.ipynb` in a
scratch folder, the local fork pool), and store each result with `jobs.finish` as it
arrives (or `jobs.fail` for a grader error). A content already graded under the current
suite is marked done without grading; a content claimed twice in one batch is graded once.

Leases are renewed every lease/3 by a heartbeat *process* (started once, at start): the
fork pool forks its gradings from this process, which must hold no threads when it
forks (autograder/pool.py). A worker killed at any moment loses only its leases: the jobs
are claimed again once they expire, and a result of an expired lease is discarded.

Uploads are untrusted code: the worker refuses to start where the sandbox would be the
plain-subprocess fallback (no working bubblewrap) unless the config allows it
(`PortalConfig(allow_unsandboxed=True)`), and it never grades in trusted mode.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from autograder import scratch
from autograder.config import Course
from autograder.core.errors import UserError
from autograder.engine import GradeOutcome
from autograder.executors import make_executor, threads_per_grading
from autograder.request import GradeRequest, build_request
from autograder.sandbox.backends import resolve_backend
from autograder.sandbox.policy import choose_kind
from gradebook import jobs, runs
from gradebook.models import GradingJob

Note = Callable[[str], None]


@dataclass
class WorkerSummary:
    """What one `run_worker` did."""

    graded: int = 0  # jobs whose content this worker graded and stored
    reused: int = 0  # jobs done with a run of their content that already existed
    failed: int = 0  # grader errors (queued again, or failed after the last try)
    lost: int = 0  # results discarded: the lease had expired
    seconds: float = 0.0


def unsandboxed_refusal(course: Course) -> str | None:
    """The reason the worker may not grade uploads here, or None when it may."""
    kind = choose_kind(resolve_backend(course).sandbox_kind)
    return _refusal(course, kind)


def _refusal(course: Course, kind: str) -> str | None:
    if kind != "subprocess" or course.portal.allow_unsandboxed:
        return None
    return ("bubblewrap does not work here, and grading uploads in a plain subprocess is "
            "off: install bubblewrap (apt-get install bubblewrap), or set "
            "portal=PortalConfig(allow_unsandboxed=True) in course_config.py")


def _require_sandbox(course: Course, request: GradeRequest) -> None:
    if request.mode != "sandboxed":
        raise UserError("the portal's worker grades uploads in the sandbox only")
    reason = _refusal(course, choose_kind(request.sandbox_kind))
    if reason:
        raise UserError(reason)


# --- the heartbeat process -------------------------------------------------------------------

def heartbeat_main() -> None:
    """The heartbeat process (`Heartbeat`): reads the database URL, the worker's name and
    the lease in seconds as one JSON line on stdin, then a JSON list of held job ids per
    line; every lease/3 it renews those leases and the worker's heartbeat. Ends at end
    of input (the worker stopped or died)."""
    from gradebook.store import open_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's to handle
    stdin = sys.stdin.buffer
    url, name, lease_s = json.loads(stdin.readline())
    engine = open_engine(url)
    lease, interval = timedelta(seconds=lease_s), lease_s / 3
    held: list[int] = []
    due = time.monotonic() + interval
    try:
        while True:
            ready, _, _ = select.select([stdin], [], [], max(0.0, due - time.monotonic()))
            if ready:
                line = stdin.readline()
                if not line:
                    return
                held = json.loads(line)
                continue
            jobs.heartbeat(engine, name, held, lease)
            due = time.monotonic() + interval
    finally:
        engine.dispose()


class Heartbeat:
    """The worker's heartbeat process and the job ids it keeps leased: a separate
    interpreter, so the worker holds no thread when the fork pool forks."""

    def __init__(self, url: str, name: str, lease: timedelta) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from app.worker import heartbeat_main; heartbeat_main()"],
            stdin=subprocess.PIPE)
        self._send([url, name, lease.total_seconds()])

    def _send(self, message: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        self._process.stdin.flush()

    def hold(self, job_ids: list[int]) -> None:
        """Renew these jobs' leases from now on (and no others)."""
        self._send(list(job_ids))

    def stop(self) -> None:
        try:
            assert self._process.stdin is not None
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# --- grading one batch ---------------------------------------------------------------------

class _Batch:
    """One module's claimed jobs: graded once per content, each result stored as it comes."""

    def __init__(self, engine: Engine, name: str, request: GradeRequest,
                 claimed: list[GradingJob], summary: WorkerSummary, note: Note,
                 stop: threading.Event) -> None:
        self.engine, self.name, self.request = engine, name, request
        self.summary, self.note, self.stop = summary, note, stop
        self.by_sha: dict[str, list[GradingJob]] = defaultdict(list)
        for job in claimed:
            self.by_sha[job.sha256].append(job)

    def reuse(self, graded: set[str]) -> None:
        """Mark done, without grading, the jobs whose content already has a run."""
        for sha in graded:
            for job in self.by_sha[sha]:
                if self.store(job, None):
                    self.summary.reused += 1

    def store(self, job: GradingJob, outcome: GradeOutcome | None) -> bool:
        if jobs.finish(self.engine, job, self.name, self.request.suite_hash, outcome):
            return True
        self.summary.lost += 1
        self.note(f"job {job.id}: lease expired before its result was stored; discarded")
        return False

    def done(self, sha: str, outcome: GradeOutcome | Exception) -> None:
        """Store one content's outcome for every job of that content."""
        first, *rest = self.by_sha[sha]
        if isinstance(outcome, Exception) and self.stop.is_set():
            return  # broken off by the stop, not the grader's fault: released on the way out
        if isinstance(outcome, Exception):
            text = str(outcome) or type(outcome).__name__
            for job in (first, *rest):
                state = jobs.fail(self.engine, job, self.name, text)
                self.summary.failed += 1
                self.note(f"job {job.id}: grader error ({text.splitlines()[0][:200]}); "
                          f"{state or 'lease lost'}")
            return
        if self.store(first, outcome):
            self.summary.graded += 1
        for job in rest:
            if self.store(job, outcome):  # the run exists now: only marked done
                self.summary.reused += 1


def grade_claimed(course: Course, engine: Engine, name: str, slug: str,
                  claimed: list[GradingJob], workers: int, summary: WorkerSummary,
                  note: Note, stop: threading.Event) -> None:
    """Grade one module's claimed jobs with the local executor; results stored as they
    arrive."""
    threads = threads_per_grading(course, "local", workers)
    with scratch.folder("worker") as tmp:
        request = build_request(course, slug, Path(tmp) / "submission.ipynb", threads=threads)
        _require_sandbox(course, request)
        batch = _Batch(engine, name, request, claimed, summary, note, stop)
        with Session(engine) as session:
            graded = runs.graded_contents(session, slug, request.suite_hash, batch.by_sha)
        batch.reuse(graded)
        todo = sorted(set(batch.by_sha) - graded)
        if not todo:
            return
        requests = []
        for sha, notebook in runs.contents(engine, todo):
            path = Path(tmp) / f"{sha}.ipynb"
            path.write_bytes(notebook)
            requests.append(request.for_submission(path))
        make_executor(course, slug, "local", workers, note).grade_all(
            requests, lambda index, outcome: batch.done(todo[index], outcome))


# --- the loop ----------------------------------------------------------------------------------

def _by_slug(claimed: list[GradingJob]) -> dict[str, list[GradingJob]]:
    groups: dict[str, list[GradingJob]] = defaultdict(list)
    for job in claimed:
        groups[job.slug].append(job)
    return groups


def run_worker(course: Course, engine: Engine, *, workers: int = 2, once: bool = False,
               poll: float = 1.0, stop: threading.Event | None = None,
               note: Note = print) -> WorkerSummary:
    """Grade queued jobs until `stop` is set (or, with `once`, until no job is queued or
    held by anyone). On the way out, however it leaves (Ctrl-C included), the jobs it
    still holds go back to the queue and the worker is unregistered."""
    reason = unsandboxed_refusal(course)
    if reason:
        raise UserError(reason)
    lease = timedelta(seconds=course.portal.worker_lease_seconds)
    name = jobs.worker_name()
    jobs.register_worker(engine, name, lease)
    stop = stop or threading.Event()
    summary, started = WorkerSummary(), time.monotonic()
    beat = Heartbeat(course.resolved_database_url(), name, lease)
    try:
        while not stop.is_set():
            claimed = jobs.claim(engine, name, workers, lease)
            if not claimed:
                if once and jobs.outstanding(engine) == 0:
                    break
                stop.wait(poll)
                continue
            beat.hold([job.id for job in claimed])
            for slug, group in _by_slug(claimed).items():
                if not stop.is_set():
                    grade_claimed(course, engine, name, slug, group, workers, summary,
                                  note, stop)
            beat.hold([])
    finally:
        beat.stop()
        jobs.release(engine, name)  # whatever it still holds, claimed a moment ago too
        jobs.unregister_worker(engine, name)
        summary.seconds = time.monotonic() - started
    return summary
