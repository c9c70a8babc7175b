"""`course collect SLUG SOURCE`: store a batch of notebooks, matched to the roster.

SOURCE is a folder of notebooks or a zip of one (Moodle's "download all submissions" and
Canvas's submissions zip are zips of notebooks in per-student names). A file is matched
to a student when a token of its path (split on `_`, `-`, `.`, `/`, spaces) is the
student's id, LMS id, or email address or its local part. Unmatched and ambiguous files
are listed, never dropped silently. Every notebook is stored by content hash; a new
content for a student is a new attempt, the same content again is ignored (re-collecting
a batch is harmless).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from autograder import scratch
from autograder.core.errors import UserError
from gradebook.models import Blob, Student, Submission
from gradebook.store import audit

TOKEN_SPLIT = re.compile(r"[_\-./\s]+")


@dataclass
class CollectReport:
    """What one collection did."""

    stored: list[tuple[str, str]] = field(default_factory=list)  # (student, file)
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # same content as before
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    identical: list[tuple[str, ...]] = field(default_factory=list)  # students sharing a notebook


def _notebooks(source: Path, scratch: Path) -> list[tuple[Path, str]]:
    """(file on disk, name shown to staff) for every .ipynb in a folder or zip."""
    if source.is_dir():
        return [(p, str(p.relative_to(source))) for p in sorted(source.rglob("*.ipynb"))
                if ".ipynb_checkpoints" not in p.parts]
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            names = [n for n in zf.namelist() if n.endswith(".ipynb") and "__MACOSX" not in n
                     and ".ipynb_checkpoints" not in n]
            for name in names:
                target = (scratch / name).resolve()
                if scratch.resolve() not in target.parents:
                    raise UserError(f"{source}: entry {name!r} points outside the archive")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
        return [((scratch / n), n) for n in sorted(names)]
    raise UserError(f"{source}: not a folder of notebooks or a zip file")


def match_student(name: str, students: list[Student]) -> list[Student]:
    """Students whose id, LMS id or email appears as a token of the file's path."""
    tokens = {t.lower() for t in TOKEN_SPLIT.split(name) if t}
    lowered = name.lower()
    found = []
    for s in students:
        keys = {s.id.lower()}
        if s.lms_id:
            keys.add(s.lms_id.lower())
        if s.email:
            keys.add(s.email.split("@")[0].lower())
        if keys & tokens or (s.email and s.email.lower() in lowered):
            found.append(s)
    return found


def read_times(path: Path, tz: str, students: list[Student]) -> dict[str, datetime]:
    """Submission times from an LMS grading worksheet or CSV: student -> time (UTC).

    The student column may be an id, LMS id, email or Moodle's "Identifier" ("Participant
    123"); the time column `submitted_at`, `timestamp` or Moodle's "Last modified
    (submission)". Times without a zone are in the course's timezone.
    """
    import pandas as pd

    from gradebook.csv_input import read_csv

    header, rows = read_csv(path, "the worksheet")
    if not rows:
        raise UserError(f"{path}: no rows")
    who = next((c for c in ("student_id", "id", "email", "email address", "lms_id",
                            "identifier") if c in header), None)
    when = next((c for c in ("submitted_at", "timestamp", "last modified (submission)")
                 if c in header), None)
    if who is None or when is None:
        raise UserError(f"{path}: needs a student column (student_id, email or identifier) and "
                        f"a time column (submitted_at or 'Last modified (submission)')")
    times: dict[str, datetime] = {}
    for line, row in rows:
        raw = row.get(when, "")
        if not raw or raw == "-":
            continue
        matches = match_student(row.get(who) or "", students)
        if len(matches) != 1:
            continue
        try:
            stamp = pd.Timestamp(raw)
        except (ValueError, TypeError):
            raise UserError(f"{path} line {line}: {raw!r} is not a date and time") from None
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
        times[matches[0].id] = stamp.tz_convert("UTC").to_pydatetime()
    return times


def collect(engine: Engine, slug: str, source: Path, times_csv: Path | None = None,
            timezone_name: str = "UTC") -> CollectReport:
    """Store every matched notebook as an attempt (one transaction per file)."""
    report = CollectReport()
    now = datetime.now(timezone.utc)
    with scratch.folder("collect") as tmp:
        files = _notebooks(Path(source), Path(tmp))
        if not files:
            raise UserError(f"{source}: no .ipynb files found")
        with Session(engine) as session:
            students = list(session.scalars(select(Student)))
        if not students:
            raise UserError("the roster is empty; run `course roster import students.csv` first")
        times = read_times(times_csv, timezone_name, students) if times_csv else {}
        for path, shown in files:
            matches = match_student(shown, students)
            if not matches:
                report.unmatched.append(shown)
                continue
            if len(matches) > 1:
                report.ambiguous.append(f"{shown} ({', '.join(s.id for s in matches)})")
                continue
            sid = matches[0].id
            _store(engine, slug, sid, path.read_bytes(), shown, times.get(sid, now),
                   "lms" if sid in times else "collected", report)
    report.identical = identical_groups(engine, slug)
    return report


def store_notebook(session: Session, slug: str, student: str, content: bytes, shown: str,
                   when: datetime, time_source: str, action: str = "collect",
                   by: str | None = None) -> Submission | None:
    """Store one notebook as the student's next attempt in the caller's transaction;
    None when the student handed in this content already (nothing is written)."""
    sha = hashlib.sha256(content).hexdigest()
    if session.scalar(select(Submission.id).where(
            Submission.student_id == student, Submission.slug == slug,
            Submission.sha256 == sha)) is not None:
        return None
    if session.get(Blob, sha) is None:
        session.add(Blob(sha256=sha, content=content, size=len(content)))
    last = session.scalar(select(func.max(Submission.attempt)).where(
        Submission.student_id == student, Submission.slug == slug)) or 0
    submission = Submission(student_id=student, slug=slug, sha256=sha, attempt=last + 1,
                            submitted_at=when, time_source=time_source, source_name=shown)
    session.add(submission)
    session.flush()
    audit(session, action, f"student {student} / {slug}", sha256=sha, attempt=last + 1,
          file=shown, by=by)
    return submission


def _store(engine: Engine, slug: str, student: str, content: bytes, shown: str,
           when: datetime, time_source: str, report: CollectReport) -> None:
    with Session(engine) as session, session.begin():
        stored = store_notebook(session, slug, student, content, shown, when, time_source)
    (report.stored if stored is not None else report.unchanged).append((student, shown))


def identical_groups(engine: Engine, slug: str) -> list[tuple[str, ...]]:
    """Groups of different students whose latest notebooks are byte-identical."""
    with Session(engine) as session:
        rows = session.execute(select(Submission.sha256, Submission.student_id)
                               .where(Submission.slug == slug)).all()
    by_sha: dict[str, set[str]] = {}
    for sha, student in rows:
        by_sha.setdefault(sha, set()).add(student)
    return [tuple(sorted(s)) for s in by_sha.values() if len(s) > 1]


def missing(engine: Engine, slug: str) -> list[Student]:
    """Students with no submission for the module."""
    with Session(engine) as session:
        have = select(Submission.student_id).where(Submission.slug == slug)
        return list(session.scalars(select(Student).where(Student.id.not_in(have))
                                    .order_by(Student.id)))
