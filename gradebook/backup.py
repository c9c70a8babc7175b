"""`course backup DEST`: a consistent copy of the gradebook, safe while it is in use.

- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) copies the database
  page by page from one read snapshot, so a grading run writing at the same time neither
  blocks the copy nor leaks half a transaction into it (the gradebook runs in WAL mode:
  readers and the one writer do not wait for each other). The copy is a plain single-file
  database (rollback journal, not WAL) that opens with any SQLite.
- PostgreSQL: `pg_dump` in its custom format (restore with `pg_restore -d URL DEST`);
  pg_dump reads one snapshot too. The password goes to pg_dump in PGPASSWORD, not on its
  command line.

An existing DEST is never overwritten: the copy is written next to it under a temporary
name and then linked into place, which fails if DEST appeared in the meantime.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from autograder.config import Course
from autograder.core.errors import UserError

PG_DUMP_HINT = ("install PostgreSQL's client programs (Debian: apt-get install -y "
                "postgresql-client) or put pg_dump on PATH")


def backup(course: Course, dest: Path) -> Path:
    """Copy the course's gradebook database to `dest` (a new file); returns `dest`.

    UserError (one line) if `dest` exists, its folder does not, the database is not a
    SQLite file or PostgreSQL, or the copy fails.
    """
    return backup_url(course.resolved_database_url(), Path(dest))


def backup_url(url: str, dest: Path) -> Path:
    """`backup` for a database URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"database URL {url!r} cannot be parsed; fix database_url in "
                        f"course_config.py") from None
    dest = Path(dest)
    if dest.exists():
        raise UserError(f"{dest} already exists; choose a new file name (backups are never "
                        f"overwritten)")
    if not dest.parent.is_dir():
        raise UserError(f"{dest}: folder {dest.parent} does not exist; create it first")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _write_new(dest, lambda tmp: _sqlite_backup(parsed, tmp))
    if backend == "postgresql":
        return _write_new(dest, lambda tmp: _pg_dump(parsed, tmp))
    raise UserError(f"backup supports SQLite and PostgreSQL databases, not {backend!r}; "
                    f"use that database's own backup tool")


def _write_new(dest: Path, write: Callable[[Path], None]) -> Path:
    """Run `write` on a temporary file beside `dest`, then link it to `dest` (no overwrite)."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise UserError(f"{dest} already exists; choose a new file name (backups are "
                            f"never overwritten)") from None
        except OSError:  # a file system without hard links: best effort, still no overwrite
            if dest.exists():
                raise UserError(f"{dest} already exists; choose a new file name") from None
            os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        for extra in ("-wal", "-shm", "-journal"):
            Path(f"{tmp}{extra}").unlink(missing_ok=True)
    return dest


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise UserError("the gradebook is an in-memory SQLite database; there is no file to "
                        "back up (set database_url to a file in course_config.py)")
    path = Path(database)
    if not path.is_file():
        raise UserError(f"{path}: no such gradebook database; check database_url in "
                        f"course_config.py")
    return path


def _sqlite_backup(url: URL, tmp: Path) -> None:
    """SQLite's online backup of the database file into `tmp` (an empty file)."""
    source_path = _sqlite_file(url)
    tmp.unlink()  # let sqlite3 create the file
    try:
        src = sqlite3.connect(source_path, timeout=30)  # only read from
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                dst.commit()
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise UserError(f"{source_path}: backup failed: {exc}") from None


def find_pg_dump() -> str | None:
    """pg_dump on PATH, else the newest under /usr/lib/postgresql/<version>/bin (Debian)."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_dump")

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    return max(candidates, key=version) if candidates else None


def libpq_uri(url: URL) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver, no password)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_dump(url: URL, tmp: Path) -> None:
    """pg_dump --format=custom of the database at `url` into `tmp`."""
    exe = find_pg_dump()
    if exe is None:
        raise UserError(f"pg_dump not found; {PG_DUMP_HINT}")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    cmd = [exe, "--format=custom", "--no-password", f"--file={tmp}", f"--dbname={libpq_uri(url)}"]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UserError(f"pg_dump could not run ({exc}); {PG_DUMP_HINT}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        raise UserError(f"pg_dump failed for {url.render_as_string(hide_password=True)}: "
                        f"{reason}")
