"""Grade export (csv, Moodle, Canvas), online backup and the Alembic migrations, on SQLite."""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import typer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.export_cmd import backup_command, export_command
from autograder.course_loader import load_course
from autograder.core.errors import UserError
from gradebook.backup import backup, backup_url
from gradebook.export import export
from gradebook.migrate import INITIAL_TABLES, check, current, head, upgrade
from gradebook.models import Base, Blob, GradingRun, ManualScore, Student, Submission
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

ROSTER = ("id,name,email,lms_id\ns1,Ada Lovelace,ada@uni.de,101\ns2,Alan Turing,alan@uni.de,102\n"
          "s3,Grace Hopper,grace@uni.de,\n")
ON_TIME = datetime(2026, 10, 15, 12, 0, tzinfo=timezone.utc)


def add_scores(engine) -> None:
    """s1: full module (10 autograded + 2 written), presentation 8/10, bonus 3 -> final 91.
    s2: no submission, presentation 5/10 (an older 1/10 is superseded) -> final 30.
    s3: nothing -> final 0."""
    with Session(engine) as session, session.begin():
        session.add(Blob(sha256="a" * 64, content=b"{}", size=2))
        session.flush()
        session.add(Submission(student_id="s1", slug="tiny", sha256="a" * 64, attempt=1,
                               submitted_at=ON_TIME, time_source="lms", source_name="s1.ipynb"))
        session.add(GradingRun(slug="tiny", sha256="a" * 64, suite_hash="h", status="graded",
                               score=10.0, max_score=10.0, result={}, log=""))
        session.add_all([
            ManualScore(student_id="s1", component="written", slug="tiny", points=2, max_points=2),
            ManualScore(student_id="s1", component="presentation", points=8, max_points=10),
            ManualScore(student_id="s1", component="bonus", points=3, max_points=0),
            ManualScore(student_id="s2", component="presentation", points=1, max_points=10),
        ])
    with Session(engine) as session, session.begin():  # newer entry wins
        session.add(ManualScore(student_id="s2", component="presentation", points=5, max_points=10))


@pytest.fixture
def book(book, tiny_course):
    """The shared gradebook (conftest.py), s3 without an LMS id, and the scores above."""
    (tiny_course / "students.csv").write_text(ROSTER)
    import_roster(book[1], tiny_course / "students.csv")
    add_scores(book[1])
    return book


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# --- export -------------------------------------------------------------------------------

def test_csv_export_is_the_final_table_with_names_and_emails(book, tmp_path):
    course, engine = book
    out = export(course, engine, "csv", tmp_path / "grades.csv")
    table = pd.read_csv(out, index_col="student_id", keep_default_na=False)
    assert list(table.columns) == ["name", "email", "lms_id", "tiny", "report", "presentation",
                                   "bonus", "final", "grade", "grade_pass"]
    assert list(table.index) == ["s1", "s2", "s3"]
    assert table.loc["s1", "name"] == "Ada Lovelace" and table.loc["s1", "email"] == "ada@uni.de"
    assert str(table.loc["s1", "lms_id"]) == "101" and table.loc["s3", "lms_id"] == ""
    assert table.loc["s1", "tiny"] == pytest.approx(100.0)
    assert table.loc["s1", "presentation"] == pytest.approx(80.0)
    assert table.loc["s1", "bonus"] == pytest.approx(3.0)
    assert table.loc["s1", "final"] == pytest.approx(91.0)
    assert table.loc["s2", "final"] == pytest.approx(30.0)
    assert table.loc["s3", "final"] == pytest.approx(0.0)
    assert list(table["grade"]) == ["pass", "fail", "fail"]


def test_moodle_export_identifies_by_email_and_has_numeric_grade_items(book, tmp_path):
    course, engine = book
    rows = read_rows(export(course, engine, "moodle", tmp_path / "moodle.csv"))
    assert rows[0] == ["Email address", "User ID", "Full name", "Tiny numpy module", "Report",
                       "Presentation", "Bonus", "Final grade"]
    assert rows[1] == ["ada@uni.de", "101", "Ada Lovelace", "100", "100", "80", "3", "91"]
    assert rows[2] == ["alan@uni.de", "102", "Alan Turing", "0", "0", "50", "0", "30"]
    assert rows[3] == ["grace@uni.de", "", "Grace Hopper", "0", "0", "0", "0", "0"]
    for row in rows[1:]:  # Moodle rejects a non-numeric grade ("badgrade")
        assert all(float(cell) >= 0 for cell in row[3:])


def test_canvas_export_has_the_identity_columns_and_points_possible(book, tmp_path):
    course, engine = book
    rows = read_rows(export(course, engine, "canvas", tmp_path / "canvas.csv"))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Tiny numpy module", "Report", "Presentation", "Bonus", "Final grade"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:5] == ["", "", "", ""]
    assert rows[1][5:] == ["100", "100", "100", "5", "100"]  # bonus: the course's cap
    assert rows[2] == ["Ada Lovelace", "101", "s1", "ada@uni.de", "", "100", "100", "80", "3",
                       "91"]
    assert rows[4][:5] == ["Grace Hopper", "", "s3", "grace@uni.de", ""]
    assert len(rows) == 2 + 3


def test_rounding_and_unknown_format(book, tmp_path):
    course, engine = book
    with Session(engine) as session, session.begin():
        session.add(ManualScore(student_id="s3", component="presentation", points=1, max_points=3))
    rows = read_rows(export(course, engine, "MOODLE", tmp_path / "m.csv"))
    grace = rows[3]
    assert grace[5] == "33.33" and grace[7] == "20"  # 0.6 x 33.333.. = 20.0 after rounding
    with pytest.raises(UserError, match=r"unknown export format 'xlsx'; use one of: csv, "
                                        r"moodle, canvas") as info:
        export(course, engine, "xlsx", tmp_path / "x.csv")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(UserError, match="does not exist"):
        export(course, engine, "csv", tmp_path / "no" / "such" / "dir.csv")


# --- the commands (registered on a local app: main.py wires them separately) -------------

@pytest.fixture
def cli():
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _options(ctx: typer.Context, config: Path = typer.Option(None, "--config")) -> None:
        ctx.obj = {"config": config}

    app.command("export")(export_command)
    app.command("backup")(backup_command)
    runner = CliRunner()
    return lambda config, *args: runner.invoke(app, ["--config", str(config), *args],
                                               catch_exceptions=False)


def test_export_and_backup_commands(book, tiny_course, cli):
    config = tiny_course / "course_config.py"
    result = cli(config, "export", "canvas")
    assert result.exit_code == 0, result.output
    assert read_rows(tiny_course / "grades-canvas.csv")[0][0] == "Student"
    result = cli(config, "export", "moodle", "--out", str(tiny_course / "m.csv"))
    assert result.exit_code == 0 and (tiny_course / "m.csv").is_file()
    result = cli(config, "export", "pdf")
    assert result.exit_code == 2 and "unknown export format 'pdf'" in result.output
    assert "Traceback" not in result.output
    result = cli(config, "backup", str(tiny_course / "copy.db"))
    assert result.exit_code == 0, result.output
    result = cli(config, "backup", str(tiny_course / "copy.db"))
    assert result.exit_code == 2 and "already exists" in result.output


# --- backup -------------------------------------------------------------------------------

def db_path(course) -> Path:
    return Path(course.resolved_database_url().removeprefix("sqlite:///"))


def test_backup_while_another_connection_holds_a_write_transaction(book, tmp_path):
    course, engine = book
    backups = tmp_path / "backups"
    backups.mkdir()
    writer = sqlite3.connect(db_path(course), isolation_level=None, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the write lock, as a grading run holds it
        writer.execute("INSERT INTO students (id, name, email) VALUES ('s9', 'Uncommitted', "
                       "'s9@uni.de')")
        copy = backup(course, backups / "backup.db")
        assert writer.in_transaction  # the backup neither waited for nor ended it
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with sqlite3.connect(copy) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        ids = [r[0] for r in con.execute("SELECT id FROM students ORDER BY id")]
        assert ids == ["s1", "s2", "s3"]  # committed rows only
        assert con.execute("SELECT count(*) FROM manual_scores").fetchone() == (5,)
    copied = create_engine(f"sqlite:///{copy}")
    with Session(copied) as session:
        assert session.get(Student, "s1").lms_id == "101"
        assert session.scalar(select(func.count(GradingRun.id))) == 1
    copied.dispose()
    assert sorted(p.name for p in backups.iterdir()) == ["backup.db"]  # no temp files left


def test_backup_refuses_to_overwrite(book, tmp_path):
    course, _ = book
    dest = tmp_path / "exists.db"
    dest.write_bytes(b"keep me")
    with pytest.raises(UserError, match="already exists"):
        backup(course, dest)
    assert dest.read_bytes() == b"keep me"
    with pytest.raises(UserError, match="does not exist"):
        backup(course, tmp_path / "missing" / "b.db")


def test_backup_errors_are_one_line(tmp_path, monkeypatch):
    import gradebook.backup as backup_module

    with pytest.raises(UserError, match="in-memory"):
        backup_url("sqlite://", tmp_path / "a.db")
    with pytest.raises(UserError, match="no such gradebook database"):
        backup_url(f"sqlite:///{tmp_path / 'nope.db'}", tmp_path / "b.db")
    monkeypatch.setattr(backup_module, "find_pg_dump", lambda: None)
    with pytest.raises(UserError, match=r"pg_dump not found; install PostgreSQL's client "
                                        r"programs \(Debian: apt-get install -y "
                                        r"postgresql-client\)") as info:
        backup_url("postgresql+psycopg://grader:secret@localhost/gradebook", tmp_path / "c.dump")
    assert "\n" not in str(info.value) and "secret" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


# --- migrations ---------------------------------------------------------------------------

def assert_schema_is_the_models(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            tables = set(insp.get_table_names()) - {"alembic_version"}
            assert tables == set(Base.metadata.tables)
            for name, table in Base.metadata.tables.items():
                assert {c["name"] for c in insp.get_columns(name)} == set(table.columns.keys())
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
            assert diff == []
    finally:
        engine.dispose()


def test_upgrade_an_empty_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert not check(url) and current(url) == ()
    upgrade(url)
    assert check(url) and current(url) == (head(),)
    assert_schema_is_the_models(url)
    upgrade(url)  # idempotent
    assert check(url)


def test_a_gradebook_from_create_all_is_adopted_with_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    # how gradebooks were made before migrations: the tables of revision 0001 only
    first = INITIAL_TABLES | {"published_modules"}
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in first])
    with engine.begin() as con:  # columns later revisions added to those tables
        con.exec_driver_sql("ALTER TABLE manual_scores DROP COLUMN source")
    with Session(engine) as session, session.begin():
        session.add(Student(id="s1", name="Ada Lovelace", email="ada@uni.de"))
    engine.dispose()
    assert not check(url)
    upgrade(url)
    assert check(url)
    assert_schema_is_the_models(url)
    engine = create_engine(url)
    with Session(engine) as session:
        assert session.get(Student, "s1").name == "Ada Lovelace"
    engine.dispose()


def test_a_half_made_database_is_refused(tmp_path):
    path = tmp_path / "half.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE students (id TEXT PRIMARY KEY)")
    with pytest.raises(UserError, match="not all of them and no alembic_version"):
        upgrade(f"sqlite:///{path}")
