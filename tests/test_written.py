"""Collecting written answers for manual grading (gradebook.written, `course written`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from autograder.core.notebook_io import from_dict
from gradebook.collect import collect
from gradebook.models import Blob, ManualScore, Submission
from gradebook.roster import import_roster
from gradebook.scores import import_scores, template
from gradebook.store import open_gradebook
from gradebook.written import NO_ANSWER, gather_written, written_questions

FIXTURES = Path(__file__).parent / "fixtures"
ROSTER = "id,name,email\ns1,Ada Lovelace,ada@uni.de\ns2,Alan Turing,alan@uni.de\n" \
         "s3,Grace Hopper,grace@uni.de\n"
ANSWER = "Overflow: exp(1000) is <b>inf</b> & the result is nan."
FIRST_ANSWER = "an older attempt that must not be shown"
MODEL = "For numerical stability: exp of large numbers overflows."
QUESTION = "Why subtract the maximum in softmax?"
HIDDEN_SECRET = "hidden-secret-assertion-xyz"


def _notebook(master: Path, answer: str | None) -> bytes:
    """The master as a student would hand it in: the written cell answered, or deleted."""
    nb = json.loads(master.read_text())
    cells = []
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "written_max":
            if answer is None:
                continue  # the student deleted the answer cell
            cell = dict(cell, source=answer)
        cells.append(cell)
    nb["cells"] = cells
    return json.dumps(nb).encode()


@pytest.fixture
def collected(tmp_path):
    """s1 answered (twice; the second attempt counts), s2 deleted the cell, s3 handed in a
    damaged file. The master also carries a hidden-tests region that must never show."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "tinycourse", root)
    master = root / "solutions" / "tiny" / "tiny.ipynb"
    nb = json.loads(master.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q_written_head":
            cell["source"] = "".join(cell["source"]) + \
                f"\n### BEGIN HIDDEN TESTS\n{HIDDEN_SECRET}\n### END HIDDEN TESTS\n"
    master.write_text(json.dumps(nb))
    course = load_course(root / "course_config.py")
    engine = open_gradebook(course)
    (root / "students.csv").write_text(ROSTER)
    import_roster(engine, root / "students.csv")
    batch1, batch2 = root / "batch1", root / "batch2"
    batch1.mkdir()
    batch2.mkdir()
    (batch1 / "s1.ipynb").write_bytes(_notebook(master, FIRST_ANSWER))
    (batch1 / "s2.ipynb").write_bytes(_notebook(master, None))
    collect(engine, "tiny", batch1)
    (batch2 / "s1.ipynb").write_bytes(_notebook(master, ANSWER))
    collect(engine, "tiny", batch2)
    damaged = b"{ not a notebook"
    sha = hashlib.sha256(damaged).hexdigest()
    with Session(engine) as session, session.begin():
        session.add(Blob(sha256=sha, content=damaged, size=len(damaged)))
        session.add(Submission(student_id="s3", slug="tiny", sha256=sha, attempt=1,
                               submitted_at=datetime(2026, 10, 15, tzinfo=timezone.utc),
                               time_source="collected", source_name="s3.ipynb"))
    with Session(engine) as session:
        attempts = {(s.student_id, s.attempt) for s in session.scalars(select(Submission))}
    assert attempts == {("s1", 1), ("s1", 2), ("s2", 1), ("s3", 1)}
    return course, engine


def test_pages_index_and_csv(collected, tmp_path):
    course, engine = collected
    out = tmp_path / "written"
    paths = gather_written(course, engine, "tiny", out)
    assert [p.name for p in paths] == ["written_max.html", "index.html", "written-tiny.csv"]
    assert all(p.is_file() for p in paths)
    assert not list(out.glob("*.tmp"))

    page = (out / "written_max.html").read_text()
    assert QUESTION in page and "2 points" in page
    details = page.split("<details>", 1)[1].split("</details>", 1)[0]
    assert MODEL in details
    assert "BEGIN SOLUTION" not in page and "END SOLUTION" not in page
    # every student with a submission, with id and name; the latest attempt only
    for who in ("s1 — Ada Lovelace", "s2 — Alan Turing", "s3 — Grace Hopper"):
        assert who in page
    assert FIRST_ANSWER not in page
    # escaped, preformatted
    assert "<b>inf</b>" not in page
    assert "<pre>Overflow: exp(1000) is &lt;b&gt;inf&lt;/b&gt; &amp; the result is nan.</pre>" \
        in page
    # the deleted cell (s2) and the damaged notebook (s3)
    assert page.count(f"<pre>{NO_ANSWER}</pre>") == 2
    s2 = page.split("s2 — Alan Turing", 1)[1].split("</section>", 1)[0]
    assert NO_ANSWER in s2
    # nothing of the hidden tests: neither the master's region nor the hidden suite
    hidden_suite = (course.root / "solutions" / "tiny" / "test_tiny.py").read_text()
    for path in paths:
        text = path.read_text()
        assert HIDDEN_SECRET not in text and "HIDDEN TESTS" not in text
        assert "def test_" not in text and hidden_suite[:200] not in text

    index = (out / "index.html").read_text()
    assert 'href="written_max.html"' in index and 'href="written-tiny.csv"' in index


def test_csv_matches_the_template_and_imports(collected, tmp_path):
    course, engine = collected
    out = tmp_path / "written"
    gather_written(course, engine, "tiny", out)
    path = out / "written-tiny.csv"
    text = path.read_text()
    assert text == template(engine, course, "written", "tiny")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["student_id", "name", "slug", "points", "max_points", "comment"]
    assert [(r["student_id"], r["slug"], r["points"], r["max_points"]) for r in rows] == \
        [("s1", "tiny", "", "2"), ("s2", "tiny", "", "2"), ("s3", "tiny", "", "2")]
    assert import_scores(engine, course, path, "written", "tiny") == 0  # nothing graded yet

    for row, points in zip(rows, ["2", "0", "1,5"]):
        row["points"] = points
    rows[0]["comment"] = "clear & correct"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue())
    assert import_scores(engine, course, path, "written", "tiny", grader="ta") == 3
    with Session(engine) as session:
        stored = {(s.student_id, s.slug, s.points, s.max_points)
                  for s in session.scalars(select(ManualScore)
                                           .where(ManualScore.component == "written"))}
    assert stored == {("s1", "tiny", 2.0, 2.0), ("s2", "tiny", 0.0, 2.0),
                      ("s3", "tiny", 1.5, 2.0)}


def test_question_text_from_the_cell_itself_and_hidden_regions():
    master = from_dict({"nbformat": 4, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "## Heading"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False,
                                                        "grade_id": "tests", "points": 3}},
         "source": "### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS"},
        {"cell_type": "markdown",
         "metadata": {"nbgrader": {"grade": True, "solution": True, "grade_id": "q1",
                                   "points": 1.5}},
         "source": "Explain <why>.\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION\n"},
        {"cell_type": "markdown",
         "metadata": {"nbgrader": {"grade": True, "solution": True, "grade_id": "q2",
                                   "points": 1}},
         "source": "No markers here."},
    ]})
    q1, q2 = written_questions(master)
    assert (q1.grade_id, q1.points, q1.question, q1.model_answer) == \
        ("q1", 1.5, "Explain <why>.", "Because.")
    # no own text: the nearest preceding markdown that is not an answer cell
    assert (q2.grade_id, q2.points, q2.question, q2.model_answer) == \
        ("q2", 1.0, "## Heading", "No markers here.")


def test_missing_master_is_a_user_error(collected, tmp_path):
    course, engine = collected
    (course.root / "solutions" / "tiny" / "tiny.ipynb").unlink()
    with pytest.raises(UserError, match="master"):
        gather_written(course, engine, "tiny", tmp_path / "w")


def test_command(collected, tmp_path):
    from app.cli.written_cmd import written_command

    course, _ = collected
    app = typer.Typer()

    @app.callback()
    def _options(ctx: typer.Context, config: Path = typer.Option(None, "--config")) -> None:
        ctx.obj = {"config": config}

    app.command("written")(written_command)
    runner = CliRunner()
    config = str(course.root / "course_config.py")
    out = tmp_path / "w"
    result = runner.invoke(app, ["--config", config, "written", "tiny", "--out", str(out)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 written question page(s)" in result.output
    assert "written-tiny.csv" in result.output and (out / "index.html").is_file()
    result = runner.invoke(app, ["--config", config, "written", "nosuch"],
                           catch_exceptions=False)
    assert result.exit_code == 2
