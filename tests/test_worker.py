"""The portal's grading queue (`gradebook.jobs`) and `course worker` (`app.worker`):
claims hand a job to one worker, expired leases come back, a lost lease stores nothing,
every content is graded once per suite, one worker per SQLite gradebook, killed workers
resume, and uploads are never graded without the sandbox unless the config says so."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import add_to_config
from test_postgres import pg_server, pg_url  # noqa: F401 - fixtures

from autograder.config import PortalConfig
from autograder.core.errors import UserError
from autograder.course_loader import load_course
from autograder.engine import GradeOutcome
from autograder.sandbox import policy
from gradebook import jobs
from gradebook.collect import collect
from gradebook.models import GradingJob, GradingRun, GradingWorker, Submission
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

LEASE = timedelta(seconds=10)
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


# --- set-up -----------------------------------------------------------------------------------

def portal_config(tiny_course: Path) -> Path:
    """The tiny course with 10 s leases; the plain-subprocess fallback allowed only where
    bubblewrap does not work here (so the grading tests pass on both kinds of host)."""
    config = tiny_course / "course_config.py"
    add_to_config(config, "portal", f"PortalConfig(worker_lease_seconds=10, "
                                    f"allow_unsandboxed={not policy.bubblewrap_works()})")
    return config


@pytest.fixture
def queue_book(tiny_course: Path):
    """(course, engine) of the tiny course set up for the portal (`portal_config`)."""
    course = load_course(portal_config(tiny_course))
    return course, open_gradebook(course)


def hand_in(course, engine, variants: dict[str, str], enqueue: bool = True) -> list[int]:
    """Each student (created) hands in the tiny master tagged with their variant (equal
    variants: identical notebooks); with `enqueue`, a job per submission. Returns job ids."""
    roster = course.root / "portal-roster.csv"
    roster.write_text("id,name,email\n" + "".join(f"{s},S {s},{s}@uni.de\n" for s in variants))
    import_roster(engine, roster)
    batch = course.root / "portal-batch"
    batch.mkdir(exist_ok=True)
    master = json.loads((course.root / "solutions" / "tiny" / "tiny.ipynb").read_text())
    for sid, variant in variants.items():
        (batch / f"{sid}.ipynb").write_text(json.dumps(
            {**master, "metadata": {**master["metadata"], "variant": variant}}))
    collect(engine, "tiny", batch)
    if not enqueue:
        return []
    with Session(engine) as session, session.begin():
        subs = session.scalars(select(Submission).where(
            Submission.student_id.in_(list(variants))).order_by(Submission.student_id))
        return [jobs.enqueue(session, sub).id for sub in subs]


def jobs_for_one_submission(engine, n: int, at: datetime = T0) -> list[int]:
    """`n` jobs of one stored submission (enqueue always adds one), created at `at`."""
    with Session(engine) as session, session.begin():
        sub = session.scalars(select(Submission)).first()
        ids = [jobs.enqueue(session, sub, not_before=at).id for _ in range(n)]
        for job in session.scalars(select(GradingJob).where(GradingJob.id.in_(ids))):
            job.created_at = at
    return ids


def outcome(score: float = 7.0) -> GradeOutcome:
    return GradeOutcome(results={"score": score, "max_score": 10.0, "tests": [],
                                 "extra_data": {}}, log="ok")


def states(engine) -> dict[int, str]:
    with Session(engine) as session:
        return dict(session.execute(select(GradingJob.id, GradingJob.state)).all())


def runs_per_content(engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(session.execute(select(GradingRun.sha256, func.count())
                                    .group_by(GradingRun.sha256)).all())


def distinct_contents(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count(func.distinct(Submission.sha256))))


# --- the queue --------------------------------------------------------------------------------

def test_claim_on_sqlite_by_two_workers_never_hands_a_job_out_twice(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    ids = jobs_for_one_submission(engine, 40)
    got: dict[str, list[int]] = {"w1": [], "w2": []}
    start = threading.Barrier(2)

    def work(name: str) -> None:
        start.wait()
        while True:
            claimed = jobs.claim(engine, name, 3, LEASE, now=T0 + timedelta(seconds=1))
            if not claimed:
                return
            got[name] += [job.id for job in claimed]
            assert all(job.lease_owner == name and job.state == "grading" for job in claimed)

    threads = [threading.Thread(target=work, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not set(got["w1"]) & set(got["w2"])
    assert sorted(got["w1"] + got["w2"]) == sorted(ids)
    with Session(engine) as session:
        assert set(session.scalars(select(GradingJob.tries))) == {1}


def test_claim_takes_due_jobs_oldest_first(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    old, new = jobs_for_one_submission(engine, 1, T0)[0], jobs_for_one_submission(engine, 1)[0]
    later = jobs_for_one_submission(engine, 1, T0 + timedelta(hours=1))[0]
    with Session(engine) as session, session.begin():
        session.get(GradingJob, new).created_at = T0 + timedelta(seconds=5)
    claimed = jobs.claim(engine, "w", 5, LEASE, now=T0 + timedelta(seconds=10))
    assert [j.id for j in claimed] == [old, new]  # `later` is deferred past now
    # two hours on, the two leases have expired too: all three, oldest first
    again = jobs.claim(engine, "w2", 5, LEASE, now=T0 + timedelta(hours=2))
    assert [(j.id, j.tries) for j in again] == [(old, 2), (new, 2), (later, 1)]


def test_an_expired_lease_returns_the_job_and_a_late_finish_stores_nothing(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    (job_id,) = jobs_for_one_submission(engine, 1)
    (held,) = jobs.claim(engine, "w1", 1, LEASE, now=T0)
    assert jobs.claim(engine, "w2", 1, LEASE, now=T0 + LEASE / 2) == []
    assert jobs.heartbeat(engine, "w1", [job_id], LEASE, now=T0 + LEASE / 2) == {job_id}
    # renewed at T0 + 5 s: still held at T0 + 12 s, expired after T0 + 15 s
    assert jobs.claim(engine, "w2", 1, LEASE, now=T0 + timedelta(seconds=12)) == []
    (taken,) = jobs.claim(engine, "w2", 1, LEASE, now=T0 + timedelta(seconds=16))
    assert taken.id == job_id and taken.tries == 2 and taken.lease_owner == "w2"
    late = T0 + timedelta(seconds=17)
    assert jobs.heartbeat(engine, "w1", [job_id], LEASE, now=late) == set()
    assert jobs.finish(engine, held, "w1", "suite", outcome(1.0), now=late) is False
    assert runs_per_content(engine) == {} and states(engine)[job_id] == "grading"
    assert jobs.finish(engine, taken, "w2", "suite", outcome(7.0), now=late) is True
    with Session(engine) as session:
        run = session.scalars(select(GradingRun)).one()
        assert (run.sha256, run.suite_hash, run.score) == (taken.sha256, "suite", 7.0)
        done = session.get(GradingJob, job_id)
        assert done.state == "done" and done.finished_at is not None
    assert jobs.finish(engine, taken, "w2", "suite", outcome(9.0), now=late) is False  # once


def test_finish_adds_no_second_run_for_a_content_graded_under_the_suite(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    jobs_for_one_submission(engine, 2)
    first, second = jobs.claim(engine, "w", 2, LEASE, now=T0)
    assert jobs.finish(engine, first, "w", "suite", outcome(3.0), now=T0)
    assert jobs.finish(engine, second, "w", "suite", outcome(4.0), now=T0)
    assert set(states(engine).values()) == {"done"}
    with Session(engine) as session:
        assert list(session.scalars(select(GradingRun.score))) == [3.0]


def test_a_grader_error_backs_off_then_fails_after_three_tries(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    (job_id,) = jobs_for_one_submission(engine, 1)
    now = T0
    for attempt in (1, 2):
        (job,) = jobs.claim(engine, "w", 1, LEASE, now=now)
        assert jobs.fail(engine, job, "w", f"boom {attempt}", now=now) == "queued"
        assert jobs.claim(engine, "w", 1, LEASE, now=now + jobs.BACKOFF * attempt
                          - timedelta(seconds=1)) == []  # not before the backoff
        now += jobs.BACKOFF * attempt
    (job,) = jobs.claim(engine, "w", 1, LEASE, now=now)
    assert jobs.fail(engine, job, "w", "boom 3", now=now) == "failed"
    with Session(engine) as session:
        row = session.get(GradingJob, job_id)
        assert (row.state, row.tries, row.error) == ("failed", 3, "boom 3")
    assert jobs.claim(engine, "w", 1, LEASE, now=now + timedelta(days=1)) == []
    assert jobs.fail(engine, job, "w", "again", now=now) is None  # not held: no change


def test_release_puts_jobs_back_without_counting_the_try(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a"}, enqueue=False)
    ids = jobs_for_one_submission(engine, 2)
    claimed = jobs.claim(engine, "w", 2, LEASE, now=T0)
    assert jobs.release(engine, "other", ids) == 0
    assert jobs.release(engine, "w", [j.id for j in claimed]) == 2
    with Session(engine) as session:
        rows = list(session.scalars(select(GradingJob)))
    assert {(r.state, r.tries, r.lease_owner) for r in rows} == {("queued", 0, "")}


def test_queue_position_and_job_state(book):
    course, engine = book
    hand_in(course, engine, {"s1": "a", "s2": "b", "s3": "c"}, enqueue=False)
    with Session(engine) as session, session.begin():
        subs = list(session.scalars(select(Submission).order_by(Submission.student_id)))
        made = [jobs.enqueue(session, sub, not_before=T0) for sub in subs]
        for i, job in enumerate(made):
            job.created_at = T0 + timedelta(seconds=i)
        sub_ids, ids = [s.id for s in subs], [j.id for j in made]
    assert [jobs.position(engine, i) for i in ids] == [1, 2, 3]
    (first,) = jobs.claim(engine, "w", 1, LEASE, now=T0 + timedelta(minutes=1))
    assert first.id == ids[0]
    assert jobs.job_state(engine, sub_ids[0]) == ("grading", None)
    assert jobs.job_state(engine, sub_ids[2]) == ("queued", 2)
    jobs.finish(engine, first, "w", "suite", outcome(), now=T0 + timedelta(minutes=1))
    assert jobs.job_state(engine, sub_ids[0]) == ("done", None)
    assert jobs.job_state(engine, 10_000) == (None, None)
    assert jobs.position(engine, 10_000) is None


# --- workers ----------------------------------------------------------------------------------

def test_a_second_worker_on_sqlite_is_refused(book):
    _, engine = book
    jobs.register_worker(engine, "elsewhere:41:aaaaaa", LEASE, now=T0)
    with pytest.raises(UserError) as refused:
        jobs.register_worker(engine, "elsewhere:42:bbbbbb", LEASE, now=T0 + LEASE / 2)
    assert str(refused.value) == (
        "another course worker (elsewhere:41:aaaaaa) is running on this SQLite gradebook; "
        "stop it first, or use PostgreSQL for several workers")
    with Session(engine) as session:
        assert list(session.scalars(select(GradingWorker.name))) == ["elsewhere:41:aaaaaa"]
    jobs.heartbeat(engine, "elsewhere:41:aaaaaa", [], LEASE, now=T0 + LEASE)
    with pytest.raises(UserError):  # the heartbeat keeps it registered
        jobs.register_worker(engine, "elsewhere:42:bbbbbb", LEASE, now=T0 + LEASE * 1.5)
    # its heartbeat older than the lease: gone
    jobs.register_worker(engine, "elsewhere:42:bbbbbb", LEASE, now=T0 + LEASE * 2.5)
    jobs.unregister_worker(engine, "elsewhere:42:bbbbbb")


def test_a_killed_worker_of_this_host_does_not_block_a_new_one(book):
    _, engine = book
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = jobs.worker_name().split(":")[0] + f":{dead.pid}:cccccc"
    jobs.register_worker(engine, name, LEASE)
    alive = jobs.worker_name()
    jobs.register_worker(engine, alive, LEASE)  # the dead one is ignored, its row removed
    with Session(engine) as session:
        assert list(session.scalars(select(GradingWorker.name))) == [alive]


def test_run_worker_refuses_while_another_sqlite_worker_runs(queue_book):
    from app.worker import run_worker

    course, engine = queue_book
    jobs.register_worker(engine, "elsewhere:7:dddddd", LEASE)
    with pytest.raises(UserError, match="another course worker"):
        run_worker(course, engine, once=True, note=lambda line: None)


def test_the_worker_refuses_the_unsandboxed_fallback_unless_allowed(queue_book, monkeypatch):
    from app.worker import run_worker

    course, engine = queue_book
    monkeypatch.setattr(policy, "bubblewrap_works", lambda: False)
    strict = dataclasses.replace(course, portal=PortalConfig(allow_unsandboxed=False))
    with pytest.raises(UserError) as refused:
        run_worker(strict, engine, once=True, note=lambda line: None)
    message = str(refused.value)
    assert "\n" not in message and "install bubblewrap" in message
    assert "PortalConfig(allow_unsandboxed=True)" in message
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(GradingWorker)) == 0
    allowed = dataclasses.replace(course, portal=PortalConfig(allow_unsandboxed=True))
    summary = run_worker(allowed, engine, once=True, note=lambda line: None)  # empty queue
    assert summary.graded == 0


@pytest.mark.integration
def test_the_worker_grades_queued_uploads_once_per_content(queue_book):
    from app.worker import run_worker

    course, engine = queue_book
    ids = hand_in(course, engine, {"s1": "a", "s2": "b", "s3": "same", "s4": "same",
                                   "s5": "c"})
    lines: list[str] = []
    summary = run_worker(course, engine, workers=2, once=True, poll=0.1, note=lines.append)
    assert (summary.graded, summary.reused, summary.failed, summary.lost) == (4, 1, 0, 0), lines
    assert set(states(engine).values()) == {"done"} and sorted(states(engine)) == sorted(ids)
    assert runs_per_content(engine) == {sha: 1 for sha in runs_per_content(engine)}
    assert len(runs_per_content(engine)) == distinct_contents(engine) == 4
    with Session(engine) as session:
        assert set(session.scalars(select(GradingRun.score))) == {10.0}  # the master
        assert session.scalar(select(func.count()).select_from(GradingWorker)) == 0
    # uploaded again (a new job for graded content): done without grading
    with Session(engine) as session, session.begin():
        again = jobs.enqueue(session, session.scalars(select(Submission)).first()).id
    summary = run_worker(course, engine, workers=2, once=True, poll=0.1, note=lines.append)
    assert (summary.graded, summary.reused) == (0, 1)
    assert states(engine)[again] == "done" and len(runs_per_content(engine)) == 4


# --- processes: `course worker` killed and resumed, stopped, several on PostgreSQL ---------

def _worker(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli.main", "--config", str(config),
                             "worker", "--poll", "0.2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _sqlite_count(db: Path, where: str, table: str = "grading_jobs") -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"select count(*) from {table} where {where}").fetchone()[0]


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.integration
def test_course_worker_killed_mid_queue_resumes_and_grades_each_content_once(queue_book):
    course, engine = queue_book
    hand_in(course, engine, {f"k{i}": f"v{i}" for i in range(6)})
    db = Path(course.resolved_database_url().removeprefix("sqlite:///"))
    config = course.root / "course_config.py"
    proc = _worker(config, "-j", "2")
    _wait_for(lambda: proc.poll() is not None or _sqlite_count(db, "1=1", "grading_runs") >= 1)
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and its heartbeat process
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read()
    left = _sqlite_count(db, "state != 'done'")
    assert left >= 1, "the kill must land before the queue is done"
    resumed = subprocess.run([sys.executable, "-m", "app.cli.main", "--config", str(config),
                              "worker", "--once", "--poll", "0.2"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert set(states(engine).values()) == {"done"}
    assert runs_per_content(engine) == {sha: 1 for sha in runs_per_content(engine)}
    assert len(runs_per_content(engine)) == distinct_contents(engine) == 6
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(GradingWorker)) == 0


@pytest.mark.integration
def test_course_worker_stopped_by_sigterm_puts_its_jobs_back(queue_book):
    course, engine = queue_book
    hand_in(course, engine, {f"t{i}": f"v{i}" for i in range(6)})
    db = Path(course.resolved_database_url().removeprefix("sqlite:///"))
    proc = _worker(course.root / "course_config.py", "-j", "2")
    _wait_for(lambda: proc.poll() is not None or _sqlite_count(db, "state = 'grading'") >= 1)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "back in the queue" in out, out
    assert _sqlite_count(db, "state = 'grading'") == 0
    assert _sqlite_count(db, "state = 'queued'") + _sqlite_count(db, "state = 'done'") == 6
    assert _sqlite_count(db, "1=1", "grading_workers") == 0


@pytest.mark.integration
def test_two_workers_on_postgresql_grade_one_queue_together(pg_url, tiny_course):  # noqa: F811
    config = portal_config(tiny_course)
    config.write_text(config.read_text().replace('database_url="sqlite:///tiny.db"',
                                                 f'database_url="{pg_url}"'))
    course = load_course(config)
    engine = open_gradebook(course)
    try:
        ids = hand_in(course, engine, {f"p{i}": f"v{i % 7}" for i in range(8)})  # p0, p7 same
        jobs.register_worker(engine, "elsewhere:1:eeeeee", LEASE)  # PostgreSQL: no refusal
        jobs.unregister_worker(engine, "elsewhere:1:eeeeee")
        procs = [_worker(config, "-j", "1", "--once") for _ in range(2)]
        outs = [p.communicate(timeout=300)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert set(states(engine).values()) == {"done"} and sorted(states(engine)) == sorted(ids)
        assert runs_per_content(engine) == {sha: 1 for sha in runs_per_content(engine)}
        assert len(runs_per_content(engine)) == distinct_contents(engine) == 7
        with Session(engine) as session:
            owners = set(session.scalars(select(GradingJob.lease_owner)))
            assert set(session.scalars(select(GradingJob.tries))) == {1}
        assert len(owners) == 2, f"both workers should have graded: {owners}"
    finally:
        engine.dispose()


@pytest.mark.integration
def test_acknowledged_uploads_survive_a_killed_server_and_are_graded_once(tiny_course):
    """`course serve` killed (SIGKILL) while students upload: every upload that got its
    303 is stored with its job, and a worker started afterwards grades each content once."""
    import concurrent.futures
    import hashlib
    import json
    import socket
    from datetime import date

    import httpx

    from gradebook.users import invite_students, set_password_with_token

    config = portal_config(tiny_course)
    monday = date.today() - timedelta(days=date.today().weekday())
    config.write_text(config.read_text().replace("term_start=date(2026, 10, 12)",
                                                 f"term_start=date({monday:%Y, %-m, %-d})")
                      .replace("PortalConfig(", "PortalConfig(gradings_per_hour=100, "))
    course = load_course(config)
    engine = open_gradebook(course)
    roster = tiny_course / "students.csv"
    roster.write_text("id,name,email\n" + "".join(f"u{i},U {i},u{i}@uni.de\n" for i in range(4)))
    import_roster(engine, roster)
    for invitation in invite_students(engine)[0]:
        set_password_with_token(engine, invitation.token, "a long password")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "app.cli.main", "--config", str(config),
                               "serve", "--no-worker", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _wait_for(lambda: _answers(base), timeout=60)
    master = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    acknowledged: list[tuple[str, str]] = []

    def student(i: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            token = _token(client.get("/login").text)
            client.post("/login", data={"email": f"u{i}@uni.de", "password": "a long password",
                                        "csrf_token": token})
            token = _token(client.get("/").text)
            for n in range(50):
                nb = dict(master, metadata={**master["metadata"], "variant": f"{i}-{n}"})
                body = json.dumps(nb).encode()
                try:
                    r = client.post("/modules/tiny/submissions", data={"csrf_token": token},
                                    files={"notebook": ("hw.ipynb", body, "text/plain")})
                except httpx.HTTPError:
                    return  # the server is gone: this upload was never acknowledged
                if r.status_code == 303:
                    acknowledged.append((f"u{i}", hashlib.sha256(body).hexdigest()))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(student, i) for i in range(4)]
        _wait_for(lambda: len(acknowledged) >= 12, timeout=60)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        for future in futures:
            future.result()
    assert len(acknowledged) >= 12
    with Session(engine) as session:
        stored = {(s.student_id, s.sha256): s.id for s in session.scalars(select(Submission))}
        queued = {j.submission_id for j in session.scalars(select(GradingJob))}
    missing = [pair for pair in acknowledged if pair not in stored]
    assert missing == [], "acknowledged uploads lost"
    assert {stored[pair] for pair in acknowledged} <= queued
    resumed = subprocess.run([sys.executable, "-m", "app.cli.main", "--config", str(config),
                              "worker", "--once", "--poll", "0.2"],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert set(states(engine).values()) == {"done"}
    assert runs_per_content(engine) == {sha: 1 for sha in runs_per_content(engine)}
    assert len(runs_per_content(engine)) == distinct_contents(engine) >= 12


def _answers(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/login", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _token(page: str) -> str:
    import re

    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
