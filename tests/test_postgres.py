"""The gradebook on a real PostgreSQL server (Debian's `postgresql` package).

A session fixture makes a throw-away cluster in a temporary folder with `initdb`, starts
it with `pg_ctl` on a free localhost port (its unix socket in that folder too) and stops it
at the end; each test gets a new database in it. initdb refuses to run as root, so as
root the server programs run as the `postgres` system user (`runuser`, else `setpriv`).
When anything is missing (the server programs, psycopg, a user to run as) or the server
does not start, the tests are skipped with the exact reason.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from autograder.course_loader import load_course
from gradebook.aggregate import due_datetime, final_grades
from gradebook.backup import backup, find_pg_dump
from gradebook.collect import collect
from gradebook.frames import load_frames
from gradebook.migrate import check, current, head, upgrade
from gradebook.models import (AuditEntry, Base, Blob, Extension, GradingRun, ManualScore,
                              Student, Submission)
from gradebook.roster import import_roster
from gradebook.store import open_engine, open_gradebook

pytestmark = pytest.mark.integration

ROSTER = ("id,name,email,lms_id\ns1,Ada Lovelace,ada@uni.de,101\ns2,Alan Turing,alan@uni.de,102\n"
          "s3,Grace Hopper,grace@uni.de,103\ns4,Émilie du Châtelet,emilie@uni.de,\n")
SUPERUSER = "postgres"


def pg_program(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else the newest /usr/lib/postgresql/<v>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in Path(path).parent.parent.name.split(".") if x.isdigit())

    return max(candidates, key=version) if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no output)"


@dataclass
class PgServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               dbname="postgres", autocommit=True, connect_timeout=10)


def _run_as_prefix() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix to run server programs as a non-root user (none when not root)."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run initdb as "
                    "(apt-get install -y postgresql creates it)")
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--"], user
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--init-groups", "--"], user
    pytest.skip("running as root and neither runuser nor setpriv (util-linux) is available "
                "to run initdb as the postgres user")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A private PostgreSQL server on 127.0.0.1, stopped and deleted after the session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]' (test extras)")
    initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin; install them with apt-get install -y postgresql")
    prefix, owner = _run_as_prefix()
    base = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))  # under /tmp: reachable by owner
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    if owner is not None:
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], cwd=base, capture_output=True, text=True,
                              timeout=120, check=False)

    started = False
    try:
        made = run(initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                   "--locale=C", "--no-sync")
        if made.returncode != 0:
            pytest.skip(f"initdb failed (exit {made.returncode}): "
                        f"{tail(made.stderr + made.stdout)}")
        for _ in range(3):  # a free port can be taken between choosing and binding it
            port = free_port()
            options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                       f"-c synchronous_commit=off -c full_page_writes=off")
            start = run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                        "start")
            if start.returncode == 0:
                started = True
                break
        if not started:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.skip(f"PostgreSQL did not start (pg_ctl exit {start.returncode}): "
                        f"{tail(start.stderr + start.stdout + server_log)}")
        yield PgServer(host="127.0.0.1", port=port, user=SUPERUSER)
    finally:
        if started:
            run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    name = f"gradebook_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url(name)
    with pg_server.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def course_on(tiny_course: Path, url: str):
    return dataclasses.replace(load_course(tiny_course / "course_config.py"), database_url=url)


def notebook(tiny_course: Path, tag: str) -> bytes:
    nb = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    nb["metadata"]["variant"] = tag
    return json.dumps(nb).encode()


# --- tests --------------------------------------------------------------------------------

def test_migrations_upgrade_on_postgres(pg_url, tmp_path):
    assert not check(pg_url) and current(pg_url) == ()
    upgrade(pg_url)
    assert check(pg_url) and current(pg_url) == (head(),)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            assert set(insp.get_table_names()) - {"alembic_version"} == set(Base.metadata.tables)
            for name, table in Base.metadata.tables.items():
                assert {c["name"] for c in insp.get_columns(name)} == set(table.columns.keys())
            opts = {"compare_type": True}
            assert compare_metadata(MigrationContext.configure(conn, opts=opts),
                                    Base.metadata) == []
    finally:
        engine.dispose()
    upgrade(pg_url)  # idempotent
    assert check(pg_url)


def test_roster_collect_and_manual_score_round_trip(pg_url, tiny_course):
    course = course_on(tiny_course, pg_url)
    upgrade(pg_url)
    engine = open_gradebook(course)  # create_all after the migration: nothing to do
    try:
        (tiny_course / "students.csv").write_text(ROSTER, encoding="utf-8")
        assert import_roster(engine, tiny_course / "students.csv") == (4, 0)
        batch = tiny_course / "batch"
        (batch / "Alan Turing_102_assignsubmission_file_").mkdir(parents=True)
        (batch / "s1_final.ipynb").write_bytes(notebook(tiny_course, "a"))
        second = notebook(tiny_course, "b")
        (batch / "Alan Turing_102_assignsubmission_file_" / "tiny.ipynb").write_bytes(second)
        report = collect(engine, "tiny", batch)
        assert sorted(s for s, _ in report.stored) == ["s1", "s2"]
        assert len(collect(engine, "tiny", batch).unchanged) == 2  # idempotent
        when = datetime(2026, 10, 16, 9, 30, tzinfo=timezone.utc)
        with Session(engine) as session, session.begin():
            session.add(ManualScore(student_id="s4", component="written", slug="tiny",
                                    points=1.5, max_points=2, grader="tä",
                                    comment="Gut — siehe §2", created_at=when))
        with Session(engine) as session:
            score = session.scalars(select(ManualScore)).one()
            assert (score.student_id, score.component, score.slug) == ("s4", "written", "tiny")
            assert (score.points, score.max_points) == (1.5, 2.0)
            assert (score.grader, score.comment) == ("tä", "Gut — siehe §2")
            assert score.created_at == when and score.created_at.tzinfo is not None
            assert session.get(Student, "s4").name == "Émilie du Châtelet"
            assert session.get(Student, "s4").lms_id is None
            sub = session.scalars(select(Submission).where(Submission.student_id == "s2")).one()
            assert session.get(Blob, sub.sha256).content == second
            audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
            assert audit.action == "roster_import" and audit.detail["added"] == 4
        _, manual, _, students = load_frames(engine, course)
        assert students == ["s1", "s2", "s3", "s4"]
        assert manual.to_dict("records") == [{"student_id": "s4", "component": "written",
                                              "slug": "tiny", "points": 1.5, "max_points": 2.0}]
    finally:
        engine.dispose()


def populate(course, engine, roster: Path) -> None:
    """The same gradebook in any database: attempts on time, late, after the cut-off, with
    an extension, regrades, superseded manual scores, bonus above the cap."""
    import_roster(engine, roster)
    # In UTC, as collect() and read_times() store them: SQLite keeps an aware datetime's
    # wall-clock time and drops its offset, so a non-UTC one would read back shifted.
    due = due_datetime(course, "tiny").tz_convert("UTC").to_pydatetime()
    t0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
    blobs = {f"{c * 64}": c.encode() for c in "abcdef"}
    attempts = [  # student, sha, attempt, submitted_at
        ("s1", "a" * 64, 1, due - timedelta(days=2)),
        ("s1", "b" * 64, 2, due + timedelta(hours=30)),  # 2 started days late
        ("s2", "c" * 64, 1, due + timedelta(days=3)),  # late, but s2 has 4 days extension
        ("s3", "d" * 64, 1, due + timedelta(days=course.late.cutoff_days + 1)),  # after cut-off
        ("s4", "e" * 64, 1, due),  # exactly on the due instant
    ]
    runs = [("a" * 64, 6.0, 0), ("b" * 64, 7.5, 1), ("b" * 64, 9.0, 2),  # regrade: newest
            ("c" * 64, 10.0, 3), ("d" * 64, 10.0, 4), ("e" * 64, 3.25, 5)]
    manual = [("s1", "written", "tiny", 2, 2), ("s1", "module_report", "tiny", 3, 4),
              ("s2", "written", "tiny", 1, 2), ("s2", "module_report", "tiny", 4, 4),
              ("s1", "presentation", None, 7, 10), ("s2", "presentation", None, 9, 10),
              ("s3", "presentation", None, 6, 10), ("s1", "bonus", None, 4, 0),
              ("s1", "bonus", None, 9, 0), ("s4", "presentation", None, 2, 10),
              ("s4", "presentation", None, 8.5, 10)]  # the later row counts
    with Session(engine) as session, session.begin():
        for sha, content in blobs.items():
            session.add(Blob(sha256=sha, content=content, size=len(content)))
        session.flush()
        for sid, sha, attempt, at in attempts:
            session.add(Submission(student_id=sid, slug="tiny", sha256=sha, attempt=attempt,
                                   submitted_at=at, time_source="lms", source_name=f"{sid}.ipynb"))
        for i, (sha, score, minutes) in enumerate(runs):
            session.add(GradingRun(slug="tiny", sha256=sha, suite_hash=f"h{i}", status="graded",
                                   score=score, max_score=10.0, result={"score": score}, log="",
                                   created_at=t0 + timedelta(minutes=minutes)))
        session.add(Extension(student_id="s2", slug="tiny", days=4, reason="ill"))
    for sid, component, slug, points, top in manual:  # one transaction each: ids in order
        with Session(engine) as session, session.begin():
            session.add(ManualScore(student_id=sid, component=component, slug=slug,
                                    points=points, max_points=top))


def test_final_grades_on_postgres_equal_sqlite(pg_url, tiny_course):
    roster = tiny_course / "students.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    tables = {}
    for label, url in (("postgres", pg_url), ("sqlite", f"sqlite:///{tiny_course / 'same.db'}")):
        course = course_on(tiny_course, url)
        upgrade(url)
        engine = open_gradebook(course)
        try:
            populate(course, engine, roster)
            attempts, manual, extensions, students = load_frames(engine, course)
            tables[label] = final_grades(course, attempts, manual, extensions, students)
        finally:
            engine.dispose()
    pd.testing.assert_frame_equal(tables["postgres"], tables["sqlite"])
    table = tables["postgres"]
    assert list(table.index) == ["s1", "s2", "s3", "s4"]
    assert table.loc["s3", "tiny"] == 0.0  # only after the cut-off
    assert table.loc["s1", "bonus"] == 5.0  # 9 points, capped
    # s2: late 3 days with 4 days extension: on time; (10 + 1 + 4) / (10 + 2 + 4) = 93.75
    assert table.loc["s2", "tiny"] == pytest.approx(93.75)
    # s1: attempt 2 (regraded 9.0), 2 started days late: 0.8 x (9 + 2 + 3) / 16 = 70
    assert table.loc["s1", "tiny"] == pytest.approx(70.0)
    assert table.loc["s4", "presentation"] == pytest.approx(85.0)


def test_backup_of_postgres_with_pg_dump(pg_url, tiny_course, tmp_path):
    if find_pg_dump() is None:
        pytest.skip("pg_dump not found (apt-get install -y postgresql-client)")
    course = course_on(tiny_course, pg_url)
    upgrade(pg_url)
    engine = open_engine(pg_url)
    try:
        (tiny_course / "students.csv").write_text(ROSTER, encoding="utf-8")
        import_roster(engine, tiny_course / "students.csv")
    finally:
        engine.dispose()
    dest = backup(course, tmp_path / "gradebook.dump")
    assert dest.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    listing = subprocess.run([str(Path(find_pg_dump()).with_name("pg_restore")), "--list",
                              str(dest)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public students" in listing


def test_grading_claims_on_postgres(pg_url, tiny_course):
    """Eight graders asking for "next" at once on PostgreSQL: each answer is handed out
    once; an expired claim is taken over; a held answer cannot be submitted by another."""
    from web_support import hand_in, race_for_next, write_tiny_rubric

    from gradebook import marking, queues

    course = course_on(tiny_course, pg_url)
    engine = open_gradebook(course)
    try:
        (tiny_course / "students.csv").write_text(ROSTER, encoding="utf-8")
        import_roster(engine, tiny_course / "students.csv")
        write_tiny_rubric(course)
        hand_in(course, engine, {"s1": "a", "s2": "b", "s3": "c", "s4": "d"})
        queues.sync_queues(course, engine)
        queue = next(q for q in queues.queues(engine) if q.component == "written")
        got = race_for_next(course, engine, queue, [f"ta{i}" for i in range(8)])
        handed = sorted(t.student_id for t in got.values() if t is not None)
        assert handed == ["s1", "s2", "s3", "s4"]
        holder = next(name for name, t in got.items() if t is not None)
        task = got[holder]
        with pytest.raises(marking.ClaimTaken):
            marking.submit_grade(course, engine, queue, task, "intruder", set(), 0.0, "")
        later = queues.now_utc() + queues.CLAIM_TTL + timedelta(seconds=1)
        taken = queues.next_ungraded(course, engine, queue, "late", now=later)
        assert taken is not None
        assert queues.claim_holder(engine, queue.id, taken.student_id, now=later) == "late"
    finally:
        engine.dispose()
