"""Opening the gradebook: the database URL from the config, durable SQLite settings."""

from __future__ import annotations

import getpass
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session

from autograder.config import Course
from gradebook.migrate import upgrade
from gradebook.models import AuditEntry, Module


def open_engine(url: str) -> Engine:
    """An engine; SQLite files use WAL and full fsync so a kill loses no committed row."""
    engine = create_engine(url, future=True)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine


def open_gradebook(course: Course) -> Engine:
    """The course's gradebook, created if new, with its modules synced from the config."""
    upgrade(course.resolved_database_url())  # Alembic: create or migrate the schema
    engine = open_engine(course.resolved_database_url())
    with Session(engine) as session, session.begin():
        known = set(session.scalars(select(Module.slug)))
        for spec in course.modules:
            if spec.slug not in known:
                session.add(Module(slug=spec.slug, title=spec.title))
    return engine


_WRITE_LOCKS: dict[int, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """Serialise this process's write transactions on a SQLite gradebook.

    SQLite has one writer at a time; threads that meet a held lock retry on SQLite's
    busy timer (sleeps of up to 100 ms), which turns a burst of concurrent writes into
    seconds of tail latency. Queueing on a lock in Python instead hands the database to
    the next writer at once. Other databases get no lock.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())


def audit(session: Session, action: str, entity: str, *, by: str | None = None,
          **detail: Any) -> None:
    """Append one audit entry in the caller's transaction.

    `by` is the acting user (the web app passes the signed-in account's email); the CLI
    leaves it out and the entry names the login name (`actor()`).
    """
    session.add(AuditEntry(actor=by or actor(), action=action, entity=entity, detail=detail))


def actor() -> str:
    """Who is making the change (the login name), for audit entries."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
