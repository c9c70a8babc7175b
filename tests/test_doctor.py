"""`course doctor`: a graded gradebook is consistent; each kind of damage is found."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.grading import grade_batch
from gradebook.collect import collect
from gradebook.doctor import diagnose

pytestmark = pytest.mark.integration


@pytest.fixture
def graded(book, tiny_course):
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    master = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    for sid in ("s1", "s2"):
        (batch / f"{sid}.ipynb").write_text(json.dumps({**master, "metadata": {
            **master["metadata"], "variant": sid}}))
    collect(engine, "tiny", batch)
    assert grade_batch(course, engine, "tiny").graded == 2
    db = Path(course.resolved_database_url().removeprefix("sqlite:///"))
    return course, engine, db


def _problems(course, engine) -> list[str]:
    return [p for f in diagnose(course, engine) for p in f.problems]


def test_a_graded_gradebook_is_consistent(graded, course_cli, tiny_course):
    course, engine, _ = graded
    assert _problems(course, engine) == []
    result = course_cli(tiny_course / "course_config.py", "doctor")
    assert result.exit_code == 0 and "consistent" in result.output


@pytest.mark.parametrize("damage, expected", [
    ("update grading_runs set score = score - 1 where id = 1", "tests add up to"),
    ("update blobs set content = x'00' where rowid = 1", "does not match its hash"),
    ("delete from audit_log where action = 'grade'", "has no audit entry"),
    ("insert into grading_runs (slug, sha256, suite_hash, status, score, max_score, result, "
     "log, created_at) select slug, sha256, suite_hash || 'x', status, score, max_score, "
     "'{}', log, created_at from grading_runs where id = 1", "stored result has no tests"),
    ("insert into manual_scores (student_id, component, slug, points, max_points, grader, "
     "comment, created_at) values ('s1', 'presentation', null, 12, 10, 'ta', '', "
     "'2026-11-01 10:00:00')", "outside [0, 10]"),
])
def test_each_kind_of_damage_is_found(graded, course_cli, tiny_course, damage, expected):
    course, engine, db = graded
    engine.dispose()
    with sqlite3.connect(db) as con:
        con.execute(damage)
    problems = _problems(course, engine)
    assert any(expected in p for p in problems), problems
    result = course_cli(tiny_course / "course_config.py", "doctor")
    assert result.exit_code == 1 and expected in " ".join(result.output.split())
