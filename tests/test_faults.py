"""Fault tests: kill -9 the grader (the gradebook's only writer, so also the database
writer), the sandboxed workers, and `collect` at seeded random moments, then resume:
every submission graded exactly once and `course doctor` finds nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.course_loader import load_course
from app.grading import grade_batch
from gradebook.doctor import diagnose
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

SEED = 20261122
N = 14


def _setup(tiny_course: Path):
    course = load_course(tiny_course / "course_config.py")
    engine = open_gradebook(course)
    ids = [f"f{i:02d}" for i in range(N)]
    roster = tiny_course / "roster.csv"
    roster.write_text("id,name,email\n" + "".join(f"{i},S {i},{i}@uni.de\n" for i in ids))
    import_roster(engine, roster)
    batch = tiny_course / "batch"
    batch.mkdir()
    master = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    for i in ids:
        (batch / f"{i}.ipynb").write_text(json.dumps(
            {**master, "metadata": {**master["metadata"], "variant": i}}))
    db = Path(course.resolved_database_url().removeprefix("sqlite:///"))
    return course, engine, batch, db


def _cli(tiny_course: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli.main", "--config",
                             str(tiny_course / "course_config.py"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def _exactly_once(db: Path) -> None:
    with sqlite3.connect(db) as con:
        rows = con.execute("select sha256, count(*) from grading_runs group by sha256").fetchall()
        subs = con.execute("select count(distinct sha256) from submissions").fetchone()[0]
    assert len(rows) == subs == N and all(n == 1 for _, n in rows), rows


def _descendants(pid: int) -> list[int]:
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children + [g for c in children for g in _descendants(c)]


def _is_worker(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"sandbox/launch.py" in cmd or b"bwrap" in cmd


@pytest.mark.integration
def test_kill_9_collect_and_grader_at_random_moments_then_resume(tiny_course):
    course, engine, batch, db = _setup(tiny_course)
    rng = random.Random(SEED)
    proc = _cli(tiny_course, "collect", "tiny", str(batch))
    time.sleep(rng.uniform(0.3, 1.5))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = subprocess.run([sys.executable, "-m", "app.cli.main", "--config",
                               str(tiny_course / "course_config.py"), "collect", "tiny",
                               str(batch)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert _count(db, "submissions") == N  # no duplicates from the killed run
    left: list[Path] = []  # scratch folders of killed graders: student notebooks in there
    for _ in range(4):  # grader killed at seeded random moments once its batch has begun:
        # after 0-2 more committed results (a moment in the batch's progress, not in
        # seconds: a quick machine grades the whole batch in about a second)
        target = _count(db, "grading_runs") + rng.randrange(0, 3)
        proc = _cli(tiny_course, "grade", "tiny", "-j", "2")
        for _wait in range(200):
            if list(Path(tempfile.gettempdir()).glob(f"fdl-batch-{proc.pid}-*")) or \
                    proc.poll() is not None:
                break
            time.sleep(0.05)
        while proc.poll() is None and _count(db, "grading_runs") < target:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            left += Path(tempfile.gettempdir()).glob(f"fdl-*-{proc.pid}-*")
        proc.wait()
    assert left, "at least one kill must land mid-batch, leaving the batch's folders"
    grade_batch(course, engine, "tiny", workers=2)  # sweeps them, then grades the rest
    assert [p for p in left if p.exists()] == []
    _exactly_once(db)
    assert [f.problems for f in diagnose(course, engine) if f.problems] == []


@pytest.mark.integration
def test_kill_9_sandboxed_workers_mid_batch(tiny_course):
    course, engine, batch, db = _setup(tiny_course)
    from gradebook.collect import collect

    collect(engine, "tiny", batch)
    rng = random.Random(SEED + 1)
    proc = _cli(tiny_course, "grade", "tiny", "-j", "2")
    killed = 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.05, 0.3))  # a quick machine grades the batch in a second
        workers = [p for p in _descendants(proc.pid) if _is_worker(p)] \
            if proc.poll() is None else []
        if workers:
            try:
                os.kill(rng.choice(workers), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    proc.wait(timeout=60)
    assert killed >= 1, "no worker was running to kill"
    grade_batch(course, engine, "tiny", workers=2)  # whatever the kills left pending
    _exactly_once(db)
    assert [f.problems for f in diagnose(course, engine) if f.problems] == []
