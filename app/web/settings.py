"""The web app's settings: one frozen dataclass, and the session secret's file.

The secret that signs session cookies never lives in `course_config.py`: it is a file of
mode 0600 next to the gradebook (`<database file>.web-secret` for SQLite; for a server
database, `.web-secret` in the course folder), created on first start. A file that others
can read is refused (one line naming the file and the `chmod`).
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.queues import CLAIM_TTL

SECRET_BYTES = 32


@dataclass(frozen=True)
class WebSettings:
    """Everything the app needs besides the course and its gradebook."""

    secret: str  # signs the session cookies
    session_max_age: timedelta = timedelta(hours=12)
    secure_cookies: bool = False  # True behind HTTPS: cookies are then sent over HTTPS only
    login_failures_per_email: int = 5  # within login_window, then 429
    login_failures_per_client: int = 30  # within login_window, per client address
    login_window: timedelta = timedelta(minutes=15)
    claim_ttl: timedelta = CLAIM_TTL  # a grader's hold on one answer
    public_url: str = "http://127.0.0.1:8000"  # where links printed by the CLI point


def secret_path(course: Course) -> Path:
    """Where the course's session secret lives (next to the database)."""
    url = make_url(course.resolved_database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".web-secret")
    return course.root / ".web-secret"


def load_secret(path: Path) -> str:
    """The secret in `path`, created (mode 0600) when missing; refused if others can read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise UserError(f"{path}: the session secret is readable by others (mode "
                            f"{mode:o}); run `chmod 600 {path}`") from None
        text = path.read_text(encoding="ascii").strip()
        if len(text) < 32:
            raise UserError(f"{path}: the session secret is too short; delete the file and "
                            f"start again (everyone signs in again)")
        return text
    except OSError as exc:
        raise UserError(f"{path}: cannot create the session secret ({exc.strerror}); "
                        f"check the folder's permissions") from None
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secret + "\n")
    return secret
