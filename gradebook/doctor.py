"""`course doctor`: is the gradebook consistent? Read-only checks, one line per finding.

- the database itself: SQLite's `PRAGMA integrity_check` and foreign keys; the schema at
  the newest migration;
- content: every stored notebook's bytes hash to its key;
- grading runs: exactly one per (module, notebook, suite hash) (the unique key), the score
  equals the sum of its tests' scores and lies in [0, max], the stored results document
  is complete, every run has its audit entry;
- people and scores: submissions, manual scores, overrides and extensions name students on
  the roster and modules in the config; manual points lie in [0, max].
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from autograder.config import Course
from gradebook import migrate
from gradebook.models import AuditEntry, Blob, Extension, GradingRun, ManualScore, Override, \
    Student, Submission

TOLERANCE = 1e-6


@dataclass
class Finding:
    check: str
    problems: list[str] = field(default_factory=list)
    counted: int = 0  # rows looked at

    @property
    def ok(self) -> bool:
        return not self.problems


def diagnose(course: Course, engine: Engine) -> list[Finding]:
    findings = [_database(engine)]
    with Session(engine) as session:
        findings += [_blobs(session), _runs(session), _audit(session),
                     _references(course, session)]
    return findings


def _database(engine: Engine) -> Finding:
    found = Finding("database")
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            result = [row[0] for row in conn.execute(text("PRAGMA integrity_check"))]
            if result != ["ok"]:
                found.problems += [f"integrity_check: {r}" for r in result[:5]]
            for row in conn.execute(text("PRAGMA foreign_key_check")):
                found.problems.append(f"foreign key broken in table {row[0]} (row {row[1]})")
    if not migrate.check(url):
        found.problems.append(f"schema is not at the newest migration {migrate.head()} "
                              f"(any `course` command upgrades it)")
    found.counted = 1
    return found


def _blobs(session: Session) -> Finding:
    found = Finding("stored notebooks")
    for sha, content in session.execute(select(Blob.sha256, Blob.content)):
        found.counted += 1
        if hashlib.sha256(content).hexdigest() != sha:
            found.problems.append(f"notebook {sha[:12]}: content does not match its hash")
    return found


def _runs(session: Session) -> Finding:
    found = Finding("grading runs")
    dupes = session.execute(
        select(GradingRun.slug, GradingRun.sha256, GradingRun.suite_hash, func.count())
        .group_by(GradingRun.slug, GradingRun.sha256, GradingRun.suite_hash)
        .having(func.count() > 1))
    for slug, sha, suite, n in dupes:
        found.problems.append(f"{slug} notebook {sha[:12]} graded {n} times under suite "
                              f"{suite[:12]}")
    for run in session.scalars(select(GradingRun)):
        found.counted += 1
        where = f"run {run.id} ({run.slug}, notebook {run.sha256[:12]})"
        tests = (run.result or {}).get("tests")
        if not isinstance(tests, list):
            found.problems.append(f"{where}: stored result has no tests")
            continue
        total = sum(float(t.get("score", 0)) for t in tests)
        if abs(total - run.score) > TOLERANCE:
            found.problems.append(f"{where}: score {run.score:g} but its tests add up to "
                                  f"{total:g}")
        if not (-TOLERANCE <= run.score <= run.max_score + TOLERANCE):
            found.problems.append(f"{where}: score {run.score:g} outside [0, {run.max_score:g}]")
        if any(t.get("status") not in ("passed", "failed") for t in tests):
            found.problems.append(f"{where}: a test never finished (status pending)")
    return found


def _audit(session: Session) -> Finding:
    found = Finding("audit log")
    graded = {(e.entity, e.detail.get("suite_hash")) for e in
              session.scalars(select(AuditEntry).where(AuditEntry.action == "grade"))}
    for run in session.scalars(select(GradingRun)):
        found.counted += 1
        if (f"notebook {run.sha256[:12]} / {run.slug}", run.suite_hash) not in graded:
            found.problems.append(f"run {run.id} ({run.slug}, notebook {run.sha256[:12]}) "
                                  f"has no audit entry")
    return found


def _references(course: Course, session: Session) -> Finding:
    found = Finding("students, modules and scores")
    roster = set(session.scalars(select(Student.id)))
    modules = {m.slug for m in course.modules}
    rows: list[tuple[str, str, str | None]] = []
    rows += [("submission", s, g) for s, g in
             session.execute(select(Submission.student_id, Submission.slug))]
    rows += [("extension", s, g) for s, g in
             session.execute(select(Extension.student_id, Extension.slug))]
    rows += [("override", s, g) for s, g in
             session.execute(select(Override.student_id, Override.slug))]
    for kind, student, slug in rows:
        found.counted += 1
        if student not in roster:
            found.problems.append(f"{kind} of {student}: not on the roster")
        if slug is not None and slug not in modules:
            found.problems.append(f"{kind} of {student}: module {slug!r} not in course_config.py")
    for score in session.scalars(select(ManualScore)):
        found.counted += 1
        if score.student_id not in roster:
            found.problems.append(f"{score.component} score of {score.student_id}: not on the "
                                  f"roster")
        if not (-TOLERANCE <= score.points <= score.max_points + TOLERANCE):
            found.problems.append(f"{score.component} score of {score.student_id}: "
                                  f"{score.points:g} outside [0, {score.max_points:g}]")
    return found
