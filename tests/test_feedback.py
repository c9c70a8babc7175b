"""Feedback pages, publication and module statistics (gradebook.feedback, gradebook.stats)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from app.grading import grade_batch
from gradebook.collect import collect
from app.feedback_pages import render_feedback, render_feedback_page
from gradebook.feedback import is_published, module_due, publish, write_feedback
from gradebook.models import AuditEntry, Blob, GradingRun, Student, Submission
from gradebook.results import counted_results
from gradebook.roster import import_roster
from gradebook.stats import module_stats, per_test_frame, write_plots
from gradebook.store import open_gradebook

FIXTURES = Path(__file__).parent / "fixtures"
ROSTER = "id,name,email\ns1,Ada Lovelace,ada@uni.de\ns2,Alan Turing,alan@uni.de\n" \
         "s3,Grace Hopper,grace@uni.de\n"
HIDDEN_NAME = "test_softmax_stable"
HIDDEN_MESSAGE = "softmax overflowed on large inputs"
UTC = timezone.utc


def _notebook(source: Path, buggy: bool) -> bytes:
    nb = json.loads(source.read_text())
    if buggy:  # no max subtraction (the hidden test fails) and a wrong mean (a visible one)
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            text = text.replace("z = x - x.max(axis=-1, keepdims=True)", "z = x")
            text = text.replace("return self.total / max(self.n, 1)",
                                "return self.total / (self.n + 1)")
            cell["source"] = text
        nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None,
                            "outputs": [], "source": "print('checking')\n"})
    return json.dumps(nb).encode()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The tiny course with s1 (correct) and s2 (buggy) graded; s3 never submitted."""
    root = tmp_path_factory.mktemp("feedback") / "course"
    shutil.copytree(FIXTURES / "tinycourse", root)
    course = load_course(root / "course_config.py")
    engine = open_gradebook(course)
    (root / "students.csv").write_text(ROSTER)
    import_roster(engine, root / "students.csv")
    master = root / "solutions" / "tiny" / "tiny.ipynb"
    batch = root / "batch"
    batch.mkdir()
    (batch / "s1.ipynb").write_bytes(_notebook(master, buggy=False))
    (batch / "s2.ipynb").write_bytes(_notebook(master, buggy=True))
    collect(engine, "tiny", batch)
    summary = grade_batch(course, engine, "tiny", workers=2)
    assert summary.graded == 2, summary.failed
    return course, engine


def _result_of(course, engine, student_id: str) -> dict:
    return copy.deepcopy(dict(counted_results(course, engine, "tiny")[(student_id, "tiny")].result))


@pytest.mark.integration
def test_due_instant_is_due_time_in_the_course_zone(graded):
    course, _ = graded
    # 2026-10-12 + 7 days at 23:59 Europe/Berlin (still CEST, +02:00)
    assert module_due(course, "tiny") == datetime(2026, 10, 19, 21, 59, tzinfo=UTC)
    assert module_due(course, "tiny", 2) == datetime(2026, 10, 21, 21, 59, tzinfo=UTC)


@pytest.mark.integration
def test_pages_show_visible_tests_and_only_an_aggregate_of_hidden_ones(graded, tmp_path):
    course, engine = graded
    paths = write_feedback(course, engine, "tiny", tmp_path / "fb",
                           now=datetime(2026, 10, 15, tzinfo=UTC),
                           render=render_feedback_page).graded
    assert sorted(p.name for p in paths) == ["s1.html", "s2.html"]  # s3 has no submission
    good = (tmp_path / "fb" / "s1.html").read_text()
    bad = (tmp_path / "fb" / "s2.html").read_text()
    assert "Tiny numpy module" in good and "Ada Lovelace" in good
    assert "Score: 10 / 10 points" in good
    assert "hidden tests: 2 / 2 points" in good

    assert "test_softmax_rows_sum_to_one" in bad and "test_counter_mean" in bad
    assert "Counter.mean() must be the mean of the numbers added" in bad
    assert "hidden tests: 0 / 2 points" in bad
    assert "Score: 2 / 10 points" in bad
    assert "print(&#39;checking&#39;)" in bad  # the dropped statement is listed
    for page in (good, bad):
        assert page.count("hidden tests:") == 1
        assert HIDDEN_NAME not in page and "softmax_stable" not in page
        assert HIDDEN_MESSAGE not in page and "subtract the row maximum" not in page
        assert "reference.softmax" not in page and "np.isfinite" not in page  # no suite code
        assert "<script" not in page


@pytest.mark.integration
def test_after_due_date_tests_appear_once_the_due_time_has_passed(graded):
    course, engine = graded
    result = _result_of(course, engine, "s2")
    for test in result["tests"]:
        if test["name"] == "test_counter_mean":
            test["visibility"] = "after_due_date"
    due = module_due(course, "tiny")
    message = "Counter.mean() must be the mean of the numbers added"

    before = render_feedback(course, "s2", "tiny", result, due, published=False)
    assert "test_counter_mean" not in before and message not in before
    assert "1 test is shown after the due date" in before
    assert "Score so far: 2 / 4 points" in before  # its points are not revealed either
    assert "test_softmax_rows_sum_to_one" in before

    after = render_feedback(course, "s2", "tiny", result, due + timedelta(minutes=1), False)
    assert "test_counter_mean" in after and message in after
    assert "shown after the due date" not in after
    assert "Score: 2 / 10 points" in after

    extended = render_feedback(course, "s2", "tiny", result, due + timedelta(days=1), False,
                               extension_days=2)
    assert "test_counter_mean" not in extended
    naive = render_feedback(course, "s2", "tiny", result, (due + timedelta(hours=1))
                            .astimezone(UTC).replace(tzinfo=None), False)
    assert "test_counter_mean" in naive  # a naive `now` is UTC


@pytest.mark.integration
def test_after_published_tests_appear_only_when_published(graded):
    course, engine = graded
    result = _result_of(course, engine, "s2")
    for test in result["tests"]:
        if test["name"] == "test_softmax_rows_sum_to_one":
            test["visibility"] = "after_published"
    late = module_due(course, "tiny") + timedelta(days=30)
    unpublished = render_feedback(course, "s2", "tiny", result, late, published=False)
    assert "test_softmax_rows_sum_to_one" not in unpublished
    assert "1 test is shown once the results are published" in unpublished
    published = render_feedback(course, "s2", "tiny", result, late, published=True)
    assert "test_softmax_rows_sum_to_one" in published
    assert "published" not in published.split("<table>", 1)[1]
    assert HIDDEN_NAME not in published and HIDDEN_MESSAGE not in published


@pytest.mark.integration
def test_everything_from_the_result_is_escaped(graded):
    course, engine = graded
    result = _result_of(course, engine, "s2")
    result["tests"][0]["output"] = "expected <script>alert('x')</script> & more"
    result["tests"][0]["name"] = "test_<b>bold</b>"
    result["extra_data"]["load_errors"] = ["cell 'a': <img src=x onerror=alert(1)>"]
    result["extra_data"]["integrity_flags"] = ["locked cell '<i>' was deleted"]
    student = Student(id="s2", name="Bobby <Tables>", email="b@uni.de")
    page = render_feedback(course, student, "tiny", result,
                           datetime(2026, 10, 15, tzinfo=UTC), False)
    assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page
    assert "test_&lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Bobby &lt;Tables&gt;" in page
    assert "Integrity notes" in page and "Cells that failed when loaded" in page


# --- a hand-made gradebook (no grading) ------------------------------------------

def _result(tests: list[tuple[str, bool, float, str]]) -> dict:
    """A results.json with (name, passed, max points, visibility) per test."""
    rows = [{"name": n, "score": m if ok else 0.0, "max_score": m,
             "status": "passed" if ok else "failed", "output": "" if ok else f"{n} failed",
             "visibility": vis, "tags": []} for n, ok, m, vis in tests]
    return {"score": sum(r["score"] for r in rows), "max_score": sum(r["max_score"] for r in rows),
            "execution_time": 0.1, "output": "", "tests": rows,
            "extra_data": {"dropped_cells": [], "extraction_problems": [], "load_errors": [],
                           "integrity_flags": []}}


def _spec(alpha: bool, beta: bool, gamma: bool) -> list[tuple[str, bool, float, str]]:
    return [("test_alpha", alpha, 2.0, "visible"), ("test_beta", beta, 3.0, "visible"),
            ("test_gamma_published", gamma, 5.0, "after_published")]


@pytest.fixture
def handmade(tiny_course):
    """Students a..d: a has two attempts (the second graded twice), b one, c ungraded, d none."""
    course = load_course(tiny_course / "course_config.py")
    engine = open_gradebook(course)
    t0 = datetime(2026, 10, 14, 12, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        for sid in "abcd":
            session.add(Student(id=sid, name=f"Student {sid.upper()}", email=f"{sid}@uni.de"))

        def submit(sid: str, attempt: int, tag: str) -> str:
            content = tag.encode()
            sha = hashlib.sha256(content).hexdigest()
            session.add(Blob(sha256=sha, content=content, size=len(content)))
            session.add(Submission(student_id=sid, slug="tiny", sha256=sha, attempt=attempt,
                                   submitted_at=t0 + timedelta(hours=attempt),
                                   time_source="collected", source_name=f"{sid}{attempt}.ipynb"))
            return sha

        def run(sha: str, suite: str, spec: list, minutes: int) -> None:
            doc = _result(spec)
            session.add(GradingRun(slug="tiny", sha256=sha, suite_hash=suite, status="graded",
                                   score=doc["score"], max_score=doc["max_score"], result=doc,
                                   created_at=t0 + timedelta(minutes=minutes)))

        a1, a2 = submit("a", 1, "a-first"), submit("a", 2, "a-second")
        run(a1, "suite1", _spec(False, False, False), 1)
        run(a2, "suite2", _spec(True, True, False), 20)  # newer suite: counts
        run(a2, "suite1", _spec(False, False, False), 10)
        run(submit("b", 1, "b-only"), "suite1", _spec(True, False, False), 5)
        submit("c", 1, "c-ungraded")
    return course, engine


def test_stats_use_the_latest_run_of_each_latest_attempt(handmade):
    course, engine = handmade
    per_test, scores = module_stats(course, engine, "tiny")
    assert list(per_test.columns) == ["test", "pass_rate", "mean_points", "max_points"]
    assert list(per_test["test"]) == ["test_alpha", "test_beta", "test_gamma_published"]
    assert per_test["pass_rate"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert per_test["mean_points"].tolist() == pytest.approx([2.0, 1.5, 0.0])
    assert per_test["max_points"].tolist() == pytest.approx([2.0, 3.0, 5.0])
    assert scores.to_dict() == {"a": 5.0, "b": 2.0}


def test_per_test_frame_of_nothing_is_empty_with_the_columns():
    frame = per_test_frame([])
    assert frame.empty and list(frame.columns) == ["test", "pass_rate", "mean_points", "max_points"]


def test_plots_are_written_as_png_files(handmade, tmp_path):
    course, engine = handmade
    paths = write_plots(course, engine, "tiny", tmp_path / "plots")
    assert [p.name for p in paths] == ["tiny_scores.png", "tiny_pass_rates.png", "final_grades.png"]
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(b"\x89PNG\r\n\x1a\n")


def test_publish_is_durable_idempotent_and_audited(handmade, tmp_path):
    course, engine = handmade
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert not is_published(engine, "tiny")
    write_feedback(course, engine, "tiny", tmp_path / "before", now=now,
                   render=render_feedback_page)
    before = (tmp_path / "before" / "a.html").read_text()
    assert "test_alpha" in before and "test_gamma_published" not in before

    assert publish(engine, "tiny") is True
    assert publish(engine, "tiny") is False
    reopened = open_gradebook(course)  # a new engine on the same file: still published
    assert is_published(reopened, "tiny")
    with Session(reopened) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "publish")).all()
        assert [e.entity for e in entries] == ["module tiny"]
    paths = write_feedback(course, reopened, "tiny", tmp_path / "after", now=now,
                           render=render_feedback_page).graded
    assert sorted(p.name for p in paths) == ["a.html", "b.html"]  # c is ungraded, d absent
    after = (tmp_path / "after" / "a.html").read_text()
    assert "test_gamma_published" in after and "Score: 5 / 10 points" in after
    with pytest.raises(UserError):
        publish(engine, "nosuchmodule")


def test_commands(handmade, tiny_course, tmp_path):
    from app.cli.feedback_cmd import feedback_command, publish_command, stats_command

    app = typer.Typer()

    @app.callback()
    def _options(ctx: typer.Context, config: Path = typer.Option(None, "--config")) -> None:
        ctx.obj = {"config": config}

    app.command("feedback")(feedback_command)
    app.command("publish")(publish_command)
    app.command("stats")(stats_command)
    runner = CliRunner()
    config = str(tiny_course / "course_config.py")

    result = runner.invoke(app, ["--config", config, "stats", "tiny", "--out", str(tmp_path / "s")],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "test_beta" in result.output and "50.0%" in result.output
    assert (tmp_path / "s" / "tiny_pass_rates.png").is_file()
    result = runner.invoke(app, ["--config", config, "publish", "tiny"], catch_exceptions=False)
    assert result.exit_code == 0 and "published" in result.output
    result = runner.invoke(app, ["--config", config, "feedback", "tiny", "--out",
                                 str(tmp_path / "f")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 feedback page(s)" in result.output
    assert (tmp_path / "f" / "a.html").is_file()
    result = runner.invoke(app, ["--config", config, "stats", "nosuch"], catch_exceptions=False)
    assert result.exit_code == 2
