"""Manual scores (template, import), overrides and extensions on the tiny course."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from gradebook.models import AuditEntry, Extension, ManualScore, Override
from gradebook.roster import import_roster
from gradebook.scores import apply_overrides, extend, import_scores, override, template
from gradebook.store import open_gradebook


@pytest.fixture
def graded(book, tiny_course):
    """s1 has one graded submission of the tiny module (the solution: 10/10)."""
    from app.grading import grade_batch
    from gradebook.collect import collect

    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    (batch / "s1.ipynb").write_bytes((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_bytes())
    collect(engine, "tiny", batch)
    summary = grade_batch(course, engine, "tiny")
    assert summary.graded == 1 and summary.scores == [10.0]
    return course, engine


def _count(engine, column) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count(column)))


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- template --------------------------------------------------------------------------
def test_written_template_has_every_student_and_the_config_maximum(book):
    course, engine = book
    text = template(engine, course, "written", "tiny")
    assert text.splitlines()[0] == "student_id,name,slug,points,max_points,comment"
    rows = _rows(text)
    assert [(r["student_id"], r["name"]) for r in rows] == [
        ("s1", "Ada Lovelace"), ("s2", "Alan Turing"), ("s3", "Grace Hopper")]
    assert all(r["slug"] == "tiny" and r["points"] == "" and r["max_points"] == "2"
               and r["comment"] == "" for r in rows)


@pytest.mark.parametrize("component, slug, header, maximum", [
    ("module_report", "tiny", "student_id,name,slug,points,max_points,comment", "10"),
    ("presentation", None, "student_id,name,points,max_points,comment", "10"),
    ("bonus", None, "student_id,name,points,max_points,comment", ""),
])
def test_other_templates(book, component, slug, header, maximum):
    course, engine = book
    text = template(engine, course, component, slug)
    assert text.splitlines()[0] == header
    rows = _rows(text)
    assert len(rows) == 3 and all(r["max_points"] == maximum for r in rows)


@pytest.mark.parametrize("component, slug, fragment", [
    ("written", None, "graded per module; give the module slug"),
    ("module_report", None, "graded per module"),
    ("presentation", "tiny", "not per module"),
    ("bonus", "tiny", "not per module"),
    ("written", "nope", "unknown module 'nope'"),
    ("essay", None, "unknown component 'essay'"),
])
def test_template_rejects_bad_component_or_slug(book, component, slug, fragment):
    course, engine = book
    with pytest.raises(UserError, match=fragment):
        template(engine, course, component, slug)


# --- import ----------------------------------------------------------------------------
def test_import_stores_scores_and_audits_only_changes(book, tiny_course):
    course, engine = book
    audits = _count(engine, AuditEntry.id)
    sheet = tiny_course / "written.csv"
    rows = _rows(template(engine, course, "written", "tiny"))
    rows[0].update(points="1.5", comment="good")
    rows[1].update(points="2")  # s3 stays empty: not graded yet
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sheet.write_text(out.getvalue())

    assert import_scores(engine, course, sheet, "written", "tiny", grader="ta1") == 2
    with Session(engine) as session:
        stored = {(m.student_id, m.component, m.slug): (m.points, m.max_points, m.grader, m.comment)
                  for m in session.scalars(select(ManualScore))}
        assert stored == {("s1", "written", "tiny"): (1.5, 2.0, "ta1", "good"),
                          ("s2", "written", "tiny"): (2.0, 2.0, "ta1", "")}
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "manual_score")
                                       .order_by(AuditEntry.id)))
        assert [(e.entity, e.detail["old_points"], e.detail["new_points"]) for e in entries] == [
            ("student s1 / tiny / written", None, 1.5), ("student s2 / tiny / written", None, 2.0)]
    assert _count(engine, AuditEntry.id) == audits + 2

    # the same file again: nothing changes, no audit
    assert import_scores(engine, course, sheet, "written", "tiny", grader="ta1") == 0
    assert _count(engine, ManualScore.id) == 2 and _count(engine, AuditEntry.id) == audits + 2

    # one changed score: one new row, one audit entry with old and new points
    sheet.write_text(sheet.read_text().replace("s2,Alan Turing,tiny,2,", "s2,Alan Turing,tiny,1,"))
    assert import_scores(engine, course, sheet, "written", "tiny") == 1
    with Session(engine) as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last.action == "manual_score" and last.entity == "student s2 / tiny / written"
        assert (last.detail["old_points"], last.detail["new_points"]) == (2.0, 1.0)
    assert _count(engine, ManualScore.id) == 3 and _count(engine, AuditEntry.id) == audits + 3

    from gradebook.frames import load_frames

    _, manual, _, _ = load_frames(engine, course)  # the aggregation reads the newest score
    assert dict(zip(manual["student_id"], manual["points"])) == {"s1": 1.5, "s2": 1.0}


def test_import_defaults_max_points_and_takes_the_slug_from_the_file(book, tiny_course):
    course, engine = book
    sheet = tiny_course / "scores.csv"
    sheet.write_text("student_id,points\ns1,8\ns2,\n")
    assert import_scores(engine, course, sheet, "presentation") == 1
    sheet.write_text("student_id,slug,points\ns1,tiny,9\n")
    assert import_scores(engine, course, sheet, "module_report") == 1
    sheet.write_text("student_id;points;max_points\ns3;2,5;\n")  # a German-locale export
    assert import_scores(engine, course, sheet, "bonus") == 1
    with Session(engine) as session:
        stored = {(m.student_id, m.component, m.slug): (m.points, m.max_points)
                  for m in session.scalars(select(ManualScore))}
    assert stored == {("s1", "presentation", None): (8.0, 10.0),
                      ("s1", "module_report", "tiny"): (9.0, 10.0),
                      ("s3", "bonus", None): (2.5, course.bonus_cap)}


GOOD = "student_id,name,slug,points,max_points,comment\ns1,Ada Lovelace,tiny,1,2,\n"


@pytest.mark.parametrize("component, slug, body, fragment", [
    ("written", "tiny", "student_id,name,max_points\ns1,Ada,2\n", "missing column(s) points"),
    ("written", "tiny", "name,points\nAda,1\n", "missing column(s) student_id"),
    ("written", "tiny", GOOD + "s9,Nobody,tiny,1,2,\n", "line 3: unknown student id 's9'"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,abc,2,\n", "line 3: points 'abc' is not a number"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,nan,2,\n", "line 3: points 'nan' is not a number"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,-1,2,\n", "line 3: points -1 is negative"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,3,2,\n", "line 3: points 3 exceed max_points 2"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,3,,\n", "line 3: points 3 exceed max_points 2"),
    ("written", "tiny", GOOD + "s2,Alan Turing,tiny,1,5,\n", "line 3: max_points 5 for written differs"),
    ("written", None, GOOD + "s2,Alan Turing,nope,1,2,\n", "line 3: unknown module slug 'nope'"),
    ("written", "tiny", GOOD + "s2,Alan Turing,nope,1,2,\n", "line 3: unknown module slug 'nope'"),
    ("written", None, "student_id,points\ns1,1\n", "line 2: no module for written"),
    ("written", "tiny", GOOD + "s1,Ada Lovelace,tiny,2,2,\n", "line 3: duplicate score for s1 / tiny"),
    ("presentation", None, "student_id,points,max_points\ns1,1,10\ns2,11,10\n",
     "line 3: points 11 exceed max_points 10"),
    ("presentation", None, "student_id,slug,points\ns1,tiny,1\n", "line 2: presentation is not per module"),
    ("presentation", "tiny", "student_id,points\ns1,1\n", "not per module; leave out --slug"),
    ("bonus", None, "student_id,points\ns1,1\ns2,6\n", "line 3: points 6 exceed max_points 5"),
    ("written", "nope", GOOD, "unknown module 'nope'"),
    ("essay", None, GOOD, "unknown component 'essay'"),
])
def test_import_errors_are_one_line_and_write_nothing(book, tiny_course, component, slug, body,
                                                      fragment):
    course, engine = book
    audits = _count(engine, AuditEntry.id)
    sheet = tiny_course / "bad.csv"
    sheet.write_text(body)
    with pytest.raises(UserError) as info:
        import_scores(engine, course, sheet, component, slug)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    if "line" in fragment or "column" in fragment:
        assert message.startswith(str(sheet))
    assert _count(engine, ManualScore.id) == 0 and _count(engine, AuditEntry.id) == audits


def test_import_of_a_missing_file(book, tiny_course):
    course, engine = book
    with pytest.raises(UserError, match="no such file"):
        import_scores(engine, course, tiny_course / "absent.csv", "presentation")


# --- overrides -------------------------------------------------------------------------
@pytest.mark.integration
def test_override_records_and_changes_the_module_delta(graded):
    course, engine = graded
    assert apply_overrides(engine, course) == {}
    audits = _count(engine, AuditEntry.id)
    override(engine, course, "s1", "tiny", "test_counter_mean", 3, "partial credit after regrade")
    assert apply_overrides(engine, course) == {("s1", "tiny"): -3.0}
    override(engine, course, "s1", "tiny", "test_counter_mean", 4.5, "second look")  # the newest counts
    override(engine, course, "s1", "tiny", "test_softmax_stable", 1, "hard-coded output")
    assert apply_overrides(engine, course) == {("s1", "tiny"): pytest.approx(-1.5 - 1.0)}
    with Session(engine) as session:
        assert session.scalar(select(func.count(Override.id))) == 3
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "override")
                                       .order_by(AuditEntry.id)))
    assert [(e.entity, e.detail["test"], e.detail["old_points"], e.detail["new_points"])
            for e in entries] == [("student s1 / tiny", "test_counter_mean", 6.0, 3.0),
                                  ("student s1 / tiny", "test_counter_mean", 3.0, 4.5),
                                  ("student s1 / tiny", "test_softmax_stable", 2.0, 1.0)]
    assert entries[0].detail["reason"] == "partial credit after regrade"
    assert _count(engine, AuditEntry.id) == audits + 3


@pytest.mark.integration
@pytest.mark.parametrize("student, slug, test, points, reason, fragment", [
    ("s9", "tiny", "test_counter_mean", 1, "r", "unknown student id 's9'"),
    ("s2", "tiny", "test_counter_mean", 1, "r", "s2 has no graded submission for module 'tiny'"),
    ("s1", "nope", "test_counter_mean", 1, "r", "no graded submission for module 'nope'"),
    ("s1", "tiny", "test_nothing", 1, "r", "no test 'test_nothing'"),
    ("s1", "tiny", "test_counter_mean", 7, "r", "between 0 and its max_score 6"),
    ("s1", "tiny", "test_counter_mean", -1, "r", "between 0 and its max_score 6"),
    ("s1", "tiny", "test_counter_mean", float("nan"), "r", "between 0 and its max_score 6"),
    ("s1", "tiny", "test_counter_mean", 1, "  ", "needs a reason"),
])
def test_override_validation_writes_nothing(graded, student, slug, test, points, reason, fragment):
    course, engine = graded
    audits = _count(engine, AuditEntry.id)
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")) as info:
        override(engine, course, student, slug, test, points, reason)
    assert "\n" not in str(info.value)
    assert _count(engine, Override.id) == 0 and _count(engine, AuditEntry.id) == audits


# --- extensions ------------------------------------------------------------------------
def test_extension_is_recorded_with_an_audit_entry(book):
    course, engine = book
    extend(engine, "s2", "tiny", 3, reason="illness")
    extend(engine, "s2", "tiny", 1)
    with Session(engine) as session:
        rows = [(e.student_id, e.slug, e.days, e.reason) for e in session.scalars(select(Extension))]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "extension")
                                .order_by(AuditEntry.id)).first()
    assert rows == [("s2", "tiny", 3, "illness"), ("s2", "tiny", 1, "")]
    assert entry.entity == "student s2 / tiny" and entry.detail == {"days": 3, "reason": "illness"}


@pytest.mark.parametrize("student, slug, days, fragment", [
    ("s9", "tiny", 2, "unknown student id 's9'"),
    ("s1", "nope", 2, "unknown module 'nope'"),
    ("s1", "tiny", 0, "whole number >= 1"),
    ("s1", "tiny", -2, "whole number >= 1"),
])
def test_extension_validation(book, student, slug, days, fragment):
    course, engine = book
    with pytest.raises(UserError, match=fragment):
        extend(engine, student, slug, days)
    assert _count(engine, Extension.id) == 0


# --- CLI -------------------------------------------------------------------------------
@pytest.fixture
def cli():
    """A local `course` app registering the scores commands as main.py does."""
    from app.cli.scores_cmd import app as scores_app
    from app.cli.scores_cmd import extend_command, override_command

    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _options(ctx: typer.Context, config: Path = typer.Option(None, "--config")) -> None:
        ctx.obj = {"config": config}

    app.add_typer(scores_app, name="scores")
    app.command("override")(override_command)
    app.command("extend")(extend_command)
    runner = CliRunner()

    def run(config: Path, *args: str):
        return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)

    return run


def test_cli_template_and_import(book, tiny_course, cli):
    course, engine = book
    config = tiny_course / "course_config.py"
    result = cli(config, "scores", "template", "written", "tiny")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "student_id,name,slug,points,max_points,comment"
    assert len(result.output.splitlines()) == 4
    sheet = tiny_course / "pres.csv"
    result = cli(config, "scores", "template", "presentation", "--out", str(sheet))
    assert result.exit_code == 0 and "3 students" in result.output
    sheet.write_text(sheet.read_text().replace("s1,Ada Lovelace,,10,", "s1,Ada Lovelace,7,10,"))
    result = cli(config, "scores", "import", str(sheet), "--component", "presentation",
                 "--grader", "ta")
    assert result.exit_code == 0, result.output
    assert "1 score(s) new or changed" in result.output
    sheet.write_text(sheet.read_text().replace(",7,10,", ",70,10,"))
    result = cli(config, "scores", "import", str(sheet), "--component", "presentation")
    assert result.exit_code == 2
    assert "line 2: points 70 exceed max_points 10" in result.output
    result = cli(config, "scores", "template", "written")
    assert result.exit_code == 2 and "give the module slug" in result.output


@pytest.mark.integration
def test_cli_override_and_extend(graded, tiny_course, cli):
    course, engine = graded
    config = tiny_course / "course_config.py"
    result = cli(config, "override", "s1", "tiny", "test_counter_mean", "--points", "5",
                 "--reason", "regrade")
    assert result.exit_code == 0, result.output
    assert apply_overrides(engine, course) == {("s1", "tiny"): -1.0}
    result = cli(config, "override", "s1", "tiny", "test_counter_mean", "--points", "9",
                 "--reason", "x")
    assert result.exit_code == 2 and "max_score 6" in result.output
    result = cli(config, "extend", "s1", "tiny", "--days", "2", "--reason", "illness")
    assert result.exit_code == 0, result.output
    result = cli(config, "extend", "s1", "other", "--days", "2")
    assert result.exit_code == 2 and "unknown module 'other'" in result.output
    with Session(engine) as session:
        assert [(e.student_id, e.days) for e in session.scalars(select(Extension))] == [("s1", 2)]
