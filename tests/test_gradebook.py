"""The gradebook's TA workflow on the tiny course: roster, collect, batch grading, resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from app.grading import grade_batch
from gradebook.collect import collect, missing
from gradebook.models import AuditEntry, GradingRun, Student, Submission
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

from conftest import ROSTER


def _variant(tiny_course: Path, tag: str) -> bytes:
    nb = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    nb["metadata"]["variant"] = tag  # same code, different bytes
    return json.dumps(nb).encode()


@pytest.mark.parametrize("csv_text, fragment", [
    ("id,name\ns1,Ada\n", "missing column(s) email"),
    ("id,name,email\ns1,Ada,ada@uni.de\ns1,Ada,ada@uni.de\n", "line 4: duplicate id s1 (first on line 3)"),
    ("id,name,email\ns1,Ada,not-an-email\n", "line 3: 'not-an-email' is not an email address"),
    ("id,name,email\n,Ada,ada@uni.de\n", "line 3: student id ''"),
])
def test_roster_errors_are_one_line_and_write_nothing(tiny_course, csv_text, fragment):
    course = load_course(tiny_course / "course_config.py")
    engine = open_gradebook(course)
    bad = tiny_course / "bad.csv"
    bad.write_text("id,name,email\ns9,Ok Person,ok@uni.de\n" + csv_text.split("\n", 1)[1]
                   if csv_text.startswith("id,name,email") else csv_text)
    with pytest.raises(UserError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        import_roster(engine, bad)
    with Session(engine) as session:
        assert session.scalar(select(func.count(Student.id))) == 0


def test_roster_import_updates_and_audits(book, tiny_course):
    course, engine = book
    (tiny_course / "students.csv").write_text(ROSTER.replace("Ada Lovelace", "Ada King"))
    assert import_roster(engine, tiny_course / "students.csv") == (0, 1)
    with Session(engine) as session:
        assert session.get(Student, "s1").name == "Ada King"
        assert session.scalar(select(func.count(AuditEntry.id))) == 2


def test_collect_matches_students_keeps_attempts_and_lists_the_rest(book, tiny_course):
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    (batch / "s1_final.ipynb").write_bytes(_variant(tiny_course, "a"))
    (batch / "Alan Turing_102_assignsubmission_file_" ).mkdir()
    (batch / "Alan Turing_102_assignsubmission_file_" / "tiny.ipynb").write_bytes(_variant(tiny_course, "b"))
    (batch / "unknown_person.ipynb").write_bytes(_variant(tiny_course, "c"))
    report = collect(engine, "tiny", batch)
    assert sorted(s for s, _ in report.stored) == ["s1", "s2"]
    assert report.unmatched == ["unknown_person.ipynb"]
    assert [s.id for s in missing(engine, "tiny")] == ["s3"]
    again = collect(engine, "tiny", batch)  # the same batch twice: nothing new
    assert again.stored == [] and len(again.unchanged) == 2
    (batch / "s1_final.ipynb").write_bytes(_variant(tiny_course, "a2"))  # a resubmission
    collect(engine, "tiny", batch)
    with Session(engine) as session:
        attempts = sorted(session.scalars(select(Submission.attempt).where(Submission.student_id == "s1")))
        assert attempts == [1, 2]
        assert all(s.time_source == "collected" for s in session.scalars(select(Submission)))


def test_collect_reads_an_lms_zip_and_flags_identical_notebooks(book, tiny_course):
    course, engine = book
    archive = tiny_course / "moodle.zip"
    same = _variant(tiny_course, "copy")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Ada Lovelace_101_assignsubmission_file_/tiny.ipynb", same)
        zf.writestr("Grace Hopper_103_assignsubmission_file_/tiny.ipynb", same)
    report = collect(engine, "tiny", archive)
    assert len(report.stored) == 2 and report.identical == [("s1", "s3")]


@pytest.mark.integration
def test_batch_grading_grades_identical_notebooks_once(book, tiny_course):
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    for sid in ("s1", "s2", "s3"):
        (batch / f"{sid}.ipynb").write_bytes(_variant(tiny_course, "same"))
    collect(engine, "tiny", batch)
    summary = grade_batch(course, engine, "tiny", workers=2)
    assert summary.to_grade == 1 and summary.graded == 1 and summary.scores == [10.0]
    assert grade_batch(course, engine, "tiny").to_grade == 0
    assert grade_batch(course, engine, "tiny", regrade=True).to_grade == 0  # same suite hash
    suite = tiny_course / "solutions" / "tiny" / "test_tiny.py"
    suite.write_text(suite.read_text() + "\n# suite changed\n")
    assert grade_batch(course, engine, "tiny").to_grade == 0  # has a result under some hash
    again = grade_batch(course, engine, "tiny", regrade=True)
    assert again.graded == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count(GradingRun.id))) == 2  # old run kept


@pytest.mark.integration
def test_a_killed_batch_resumes_with_every_submission_graded_exactly_once(book, tiny_course):
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    ids = [f"x{i:02d}" for i in range(12)]
    roster = tiny_course / "more.csv"
    roster.write_text("id,name,email\n" + "".join(f"{i},Student {i},{i}@uni.de\n" for i in ids))
    import_roster(engine, roster)
    for i in ids:
        (batch / f"{i}.ipynb").write_bytes(_variant(tiny_course, i))
    collect(engine, "tiny", batch)
    db = Path(course.resolved_database_url().removeprefix("sqlite:///"))
    cmd = [sys.executable, "-m", "app.cli.main", "--config",
           str(tiny_course / "course_config.py"), "grade", "tiny", "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as con:
            if con.execute("select count(*) from grading_runs").fetchone()[0] >= 3:
                break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as con:
        partial = con.execute("select count(*) from grading_runs").fetchone()[0]
    assert 3 <= partial < 12, "the kill must land mid-batch"
    summary = grade_batch(course, engine, "tiny", workers=2)
    assert summary.to_grade == 12 - partial
    with sqlite3.connect(db) as con:
        rows = con.execute("select sha256, count(*) from grading_runs group by sha256").fetchall()
    assert len(rows) == 12 and all(n == 1 for _, n in rows)


@pytest.mark.integration
def test_final_grades_from_the_database(book, tiny_course, course_cli):
    from datetime import datetime, timezone

    from gradebook.models import ManualScore

    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    (batch / "s1.ipynb").write_bytes(_variant(tiny_course, "s1"))
    collect(engine, "tiny", batch)
    grade_batch(course, engine, "tiny")
    with Session(engine) as session, session.begin():
        for sub in session.scalars(select(Submission)):  # as if the LMS said: on time
            sub.submitted_at, sub.time_source = datetime(2026, 10, 15, tzinfo=timezone.utc), "lms"
        session.add(ManualScore(student_id="s1", component="presentation", points=8, max_points=10))
    result = course_cli(tiny_course / "course_config.py", "final", "--csv", str(tiny_course / "f.csv"))
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(tiny_course / "f.csv", index_col=0)
    # s1: module 100 * (10 autograded + 0 written) / (10 + 2) = 83.33; report = 83.33;
    # presentation 80; final = 0.4 * 83.33 + 0.6 * 80 = 81.33 -> "pass"
    assert table.loc["s1", "tiny"] == pytest.approx(83.333, abs=1e-2)
    assert table.loc["s1", "final"] == pytest.approx(81.333, abs=1e-2)
    assert table.loc["s1", "grade"] == "pass"
    assert table.loc["s2", "final"] == 0 and table.loc["s2", "grade"] == "fail"


def test_submission_times_come_from_the_lms_worksheet(book, tiny_course):
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    (batch / "s1.ipynb").write_bytes(_variant(tiny_course, "t1"))
    (batch / "s2.ipynb").write_bytes(_variant(tiny_course, "t2"))
    sheet = tiny_course / "worksheet.csv"
    sheet.write_text("Identifier,Email address,Last modified (submission)\n"
                     "Participant 101,ada@uni.de,2026-10-18 22:30\nParticipant 102,alan@uni.de,-\n")
    collect(engine, "tiny", batch, sheet, "Europe/Berlin")
    with Session(engine) as session:
        subs = {s.student_id: s for s in session.scalars(select(Submission))}
    assert subs["s1"].time_source == "lms"
    assert subs["s1"].submitted_at.replace(tzinfo=None).isoformat() == "2026-10-18T20:30:00"  # CEST = UTC+2
    assert subs["s2"].time_source == "collected"


def test_collect_reads_a_canvas_zip(book, tiny_course):
    course, engine = book
    archive = tiny_course / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # Canvas: <name>_<user id>_<submission id>_<file>
        zf.writestr("turingalan_102_5551234_tiny.ipynb", _variant(tiny_course, "canvas-1"))
        zf.writestr("hoppergrace_LATE_103_5551299_tiny-1.ipynb", _variant(tiny_course, "canvas-2"))
    report = collect(engine, "tiny", archive)
    assert sorted(s for s, _ in report.stored) == ["s2", "s3"] and not report.unmatched
