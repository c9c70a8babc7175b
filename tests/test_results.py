"""The result that counts (gradebook.results) as feedback, overrides and final grades see it."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.feedback_pages import render_feedback_page
from autograder.core.errors import UserError
from autograder.course_loader import load_course
from gradebook.aggregate import due_datetime, module_breakdown
from gradebook.feedback import write_feedback
from gradebook.frames import load_frames
from gradebook.models import AuditEntry, Blob, GradingRun, Student, Submission
from gradebook.results import (GRADED, LAST_BEFORE_CUTOFF, PENDING, LastBeforeCutoff,
                               counted_results)
from gradebook.scores import apply_overrides, override
from gradebook.stats import module_stats
from gradebook.store import open_gradebook

UTC = timezone.utc
NOW = datetime(2026, 10, 15, tzinfo=UTC)  # before the due time: visible tests only
T0 = datetime(2026, 10, 14, 12, tzinfo=UTC)


def _doc(alpha: bool, beta: bool) -> dict:
    """A results.json with two visible tests (2 and 3 points) and one after_published (5)."""
    tests = [("test_alpha", alpha, 2.0, "visible"), ("test_beta", beta, 3.0, "visible"),
             ("test_gamma_published", False, 5.0, "after_published")]
    rows = [{"name": n, "score": m if ok else 0.0, "max_score": m,
             "status": "passed" if ok else "failed", "output": "", "visibility": vis}
            for n, ok, m, vis in tests]
    return {"score": sum(r["score"] for r in rows), "max_score": 10.0, "tests": rows,
            "extra_data": {}}


def _submit(engine, sid: str, attempt: int, at: datetime, doc: dict | None) -> int | None:
    """Add a submission (and a graded run when `doc` is given); the run's id or None."""
    content = f"{sid}-{attempt}".encode()
    sha = hashlib.sha256(content).hexdigest()
    with Session(engine) as session, session.begin():
        session.add(Blob(sha256=sha, content=content, size=len(content)))
        session.add(Submission(student_id=sid, slug="tiny", sha256=sha, attempt=attempt,
                               submitted_at=at, time_source="lms",
                               source_name=f"{sid}{attempt}.ipynb"))
        if doc is None:
            return None
        run = GradingRun(slug="tiny", sha256=sha, suite_hash="suite", status="graded",
                         score=doc["score"], max_score=doc["max_score"], result=doc,
                         created_at=at + timedelta(minutes=5))
        session.add(run)
        session.flush()
        return run.id


@pytest.fixture
def course_db(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    engine = open_gradebook(course)
    with Session(engine) as session, session.begin():
        for sid in ("a", "b", "c"):
            session.add(Student(id=sid, name=f"Student {sid.upper()}", email=f"{sid}@uni.de"))
    return course, engine, tiny_course / "course_config.py"


def _final_tiny(course_cli, config, tmp_path) -> dict[str, float]:
    """The tiny module's column of `course final --csv`, per student."""
    out = tmp_path / "final.csv"
    result = course_cli(config, "final", "--csv", str(out))
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        return {row["student_id"]: float(row["tiny"]) for row in csv.DictReader(fh)}


def test_an_override_shows_on_the_page_and_in_course_final(course_db, course_cli, tmp_path):
    course, engine, config = course_db
    run_id = _submit(engine, "a", 1, T0, _doc(True, True))  # 5 of 10 points
    assert _final_tiny(course_cli, config, tmp_path)["a"] == pytest.approx(100 * 5 / 12)

    override(engine, course, "a", "tiny", "test_beta", 1, "partial credit")
    counted = counted_results(course, engine, "tiny")[("a", "tiny")]
    assert (counted.state, counted.run_id, counted.run_score, counted.score) == (
        GRADED, run_id, 5.0, 3.0)
    assert [(o.test, o.points, o.run_points) for o in counted.overrides] == [
        ("test_beta", 1.0, 3.0)]
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "override")).one()
    assert entry.detail["grading_run"] == run_id

    write_feedback(course, engine, "tiny", tmp_path / "fb", now=NOW,
                   render=render_feedback_page)
    page = (tmp_path / "fb" / "a.html").read_text()
    assert "Score so far: 3 / 5 points" in page
    assert "1 / 3 <span class=\"note\">(regraded)</span>" in page
    # 3 autograded points of 10 + 2 written: the page's number is the one that counts
    assert _final_tiny(course_cli, config, tmp_path)["a"] == pytest.approx(100 * 3 / 12)
    assert apply_overrides(engine, course) == {("a", "tiny"): -2.0}


def test_a_pending_counted_attempt_gets_a_page_and_is_counted_as_pending(
        course_db, course_cli, tmp_path):
    course, engine, config = course_db
    _submit(engine, "a", 1, T0, _doc(True, True))
    _submit(engine, "a", 2, T0 + timedelta(hours=1), None)  # collected, not graded yet
    _submit(engine, "b", 1, T0, _doc(True, False))

    counted = counted_results(course, engine, "tiny")
    assert counted[("a", "tiny")].state == PENDING and counted[("a", "tiny")].attempt == 2
    assert counted[("a", "tiny")].score is None and counted[("a", "tiny")].run_id is None

    pages = write_feedback(course, engine, "tiny", tmp_path / "fb", now=NOW,
                           render=render_feedback_page)
    assert [p.name for p in pages.graded] == ["b.html"]
    assert [p.name for p in pages.pending] == ["a.html"]  # c has no submission: no page
    page = (tmp_path / "fb" / "a.html").read_text()
    assert "Being graded" in page and "(attempt 2)" in page and "Score" not in page
    assert "Student A (a)" in page

    result = course_cli(config, "feedback", "tiny", "--out", str(tmp_path / "cli"))
    assert result.exit_code == 0, result.output
    assert "1 feedback page(s) and 1 pending page(s)" in " ".join(result.output.split())

    with pytest.raises(UserError, match="counted attempt 2 of module tiny is not graded yet"):
        override(engine, course, "a", "tiny", "test_beta", 1, "regrade")
    _, scores = module_stats(course, engine, "tiny")
    assert scores.to_dict() == {"b": 2.0}
    assert _final_tiny(course_cli, config, tmp_path)["a"] == 0.0  # as aggregate: NaN is 0


def test_a_late_attempt_after_the_cutoff_does_not_replace_the_counted_one(course_db, tmp_path):
    course, engine, _ = course_db
    due = due_datetime(course, "tiny").to_pydatetime()
    on_time = _submit(engine, "b", 1, due - timedelta(hours=1), _doc(True, False))
    late = _submit(engine, "b", 2, due + timedelta(days=course.late.cutoff_days, hours=1),
                   _doc(True, True))

    counted = counted_results(course, engine, "tiny")[("b", "tiny")]
    assert (counted.attempt, counted.run_id, counted.score) == (1, on_time, 2.0)
    assert counted.late_factor == 1.0 and not counted.after_cutoff

    pages = write_feedback(course, engine, "tiny", tmp_path / "fb", now=due + timedelta(days=30),
                           render=render_feedback_page)
    assert [p.name for p in pages.graded] == ["b.html"]
    assert "Score so far: 2 / 5 points" in (tmp_path / "fb" / "b.html").read_text()
    override(engine, course, "b", "tiny", "test_beta", 3, "the test was wrong")
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "override")).one()
    assert entry.detail["grading_run"] == on_time != late

    attempts, manual, ext, students = load_frames(engine, course)
    breakdown = module_breakdown(course, attempts, manual, ext, students)
    assert breakdown.loc[("b", "tiny"), "autograded"] == 5.0  # 2 + the override's 3
    assert breakdown.loc[("b", "tiny"), "late_factor"] == 1.0


@dataclass(frozen=True)
class HighestAttempt:
    """A stand-in for "the attempt the student chose": here always the highest attempt."""

    def choose(self, course, attempts: pd.DataFrame, extensions: pd.DataFrame) -> pd.DataFrame:
        top = attempts.sort_values("attempt").drop_duplicates(["student_id", "slug"], keep="last")
        return LastBeforeCutoff().choose(course, top, extensions)


def test_another_attempt_policy_plugs_into_every_reader(course_db, tmp_path):
    course, engine, _ = course_db
    due = due_datetime(course, "tiny").to_pydatetime()
    _submit(engine, "b", 1, due - timedelta(hours=1), _doc(True, False))
    late = _submit(engine, "b", 2, due + timedelta(days=course.late.cutoff_days, hours=1),
                   _doc(True, True))
    assert counted_results(course, engine, "tiny", policy=LAST_BEFORE_CUTOFF)[
        ("b", "tiny")].attempt == 1

    counted = counted_results(course, engine, "tiny", policy=HighestAttempt())[("b", "tiny")]
    assert (counted.attempt, counted.run_id, counted.after_cutoff) == (2, late, True)
    pages = write_feedback(course, engine, "tiny", tmp_path / "fb", now=NOW,
                           render=render_feedback_page, policy=HighestAttempt())
    assert "Score so far: 5 / 5 points" in pages.graded[0].read_text()
    _, scores = module_stats(course, engine, "tiny", policy=HighestAttempt())
    assert scores.to_dict() == {"b": 5.0}
    attempts, manual, ext, students = load_frames(engine, course, policy=HighestAttempt())
    breakdown = module_breakdown(course, attempts, manual, ext, students)
    assert breakdown.loc[("b", "tiny"), "autograded"] == 5.0
    assert breakdown.loc[("b", "tiny"), "late_factor"] == 0.0  # after the cut-off
