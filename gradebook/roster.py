"""`course roster import students.csv`: the class list, validated before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from autograder.core.errors import UserError
from gradebook.models import Student
from gradebook.csv_input import read_csv
from gradebook.store import audit

REQUIRED = ("id", "name", "email")
OPTIONAL = ("lms_id",)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class RosterRow:
    id: str
    name: str
    email: str
    lms_id: str | None


def read_roster(path: Path) -> list[RosterRow]:
    """Parse and validate the CSV; UserError naming the file, line and fix otherwise."""
    header, records = read_csv(path, "the roster")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; the header must "
                        f"include {', '.join(REQUIRED)} (and optionally lms_id)")
    rows: list[RosterRow] = []
    first_line: dict[str, int] = {}
    for line, rec in records:
        sid, name, email = rec.get("id", ""), rec.get("name", ""), rec.get("email", "")
        if not ID_RE.match(sid):
            raise UserError(f"{path} line {line}: student id {sid!r} is empty or has characters "
                            f"other than letters, digits, . _ -")
        if not name:
            raise UserError(f"{path} line {line}: student {sid} has no name")
        if not EMAIL_RE.match(email):
            raise UserError(f"{path} line {line}: {email!r} is not an email address")
        if sid in first_line:
            raise UserError(f"{path} line {line}: duplicate id {sid} (first on line "
                            f"{first_line[sid]}); each student appears once")
        first_line[sid] = line
        rows.append(RosterRow(sid, name, email, rec.get("lms_id") or None))
    if not rows:
        raise UserError(f"{path}: no students in the file")
    return rows


def import_roster(engine: Engine, path: Path) -> tuple[int, int]:
    """Insert new students and update changed ones in one transaction: (added, updated)."""
    rows = read_roster(path)
    added = updated = 0
    with Session(engine) as session, session.begin():
        for row in rows:
            student = session.get(Student, row.id)
            if student is None:
                session.add(Student(id=row.id, name=row.name, email=row.email, lms_id=row.lms_id))
                added += 1
            elif (student.name, student.email, student.lms_id) != (row.name, row.email, row.lms_id):
                student.name, student.email, student.lms_id = row.name, row.email, row.lms_id
                updated += 1
        audit(session, "roster_import", str(path), added=added, updated=updated)
    return added, updated
