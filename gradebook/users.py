"""Web app accounts: staff and students, passwords, one-time links.

What holds:
- An email is one account; emails are compared lower-cased (`normalise_email`).
- A password is stored only as an argon2id hash (argon2-cffi's defaults).
- A one-time link carries a random token (32 bytes, URL-safe); only its sha256 is
  stored. It sets a password once, before it expires (`TOKEN_TTL`); a new link for the
  same account revokes the older unused ones.
- Setting a password raises the account's `session_version`, so every session cookie
  issued before it stops working (the web app compares the two on every request).
- Every account change writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from autograder.core.errors import UserError
from gradebook.models import Student, User, UserToken
from gradebook.roster import EMAIL_RE
from gradebook.store import audit

ROLES = ("instructor", "ta", "student")
STAFF_ROLES = ("instructor", "ta")
TOKEN_TTL = timedelta(days=3)
SET_PASSWORD = "set_password"
MIN_PASSWORD = 10  # characters
MAX_PASSWORD = 1024  # characters: bounds the hashing work an attacker can ask for

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    """What a request needs to know about the signed-in user (no hash)."""

    id: int
    email: str
    role: str
    student_id: str | None
    session_version: int

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class TokenProblem(UserError):
    """A one-time link that cannot be used: `reason` is "unknown", "used" or "expired"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _account(user: User) -> Account:
    return Account(user.id, user.email, user.role, user.student_id, user.session_version)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_password_rules(password: str) -> None:
    """UserError naming the rule a new password breaks."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password may have at most {MAX_PASSWORD} characters")


def _issue(session: Session, user: User, ttl: timedelta) -> str:
    """A new set-password token for `user`; older unused ones are revoked."""
    now = _now()
    session.execute(update(UserToken)
                    .where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
                    .values(used_at=now))
    token = secrets.token_urlsafe(32)
    session.add(UserToken(user_id=user.id, token_sha256=_sha256(token), purpose=SET_PASSWORD,
                          expires_at=now + ttl))
    return token


def add_user(engine: Engine, email: str, role: str, *, student_id: str | None = None,
             ttl: timedelta = TOKEN_TTL, by: str | None = None) -> tuple[Account, str]:
    """Create an account and its first set-password token (returned in clear, once).

    UserError for a malformed email, an unknown role, an existing account, or a student
    account without a roster student.
    """
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if (role == "student") != (student_id is not None):
        raise UserError("a student account needs the roster student id (and staff none)")
    with Session(engine) as session, session.begin():
        if session.scalar(select(User).where(User.email == email)) is not None:
            raise UserError(f"an account for {email} exists already; "
                            f"`course users reset {email}` prints a new link")
        if student_id is not None and session.get(Student, student_id) is None:
            raise UserError(f"unknown student id {student_id!r}; import the roster first")
        user = User(email=email, role=role, student_id=student_id, session_version=1)
        session.add(user)
        session.flush()
        token = _issue(session, user, ttl)
        audit(session, "user_add", f"user {email}", role=role, by=by)
        return _account(user), token


def reset_link(engine: Engine, email: str, *, ttl: timedelta = TOKEN_TTL,
               by: str | None = None) -> str:
    """A new set-password token for an existing account (older links stop working)."""
    email = normalise_email(email)
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            raise UserError(f"no account for {email}; create it with `course users add`")
        token = _issue(session, user, ttl)
        audit(session, "user_reset_link", f"user {email}", by=by)
        return token


def token_account(engine: Engine, token: str) -> Account:
    """The account a still-usable token belongs to; TokenProblem otherwise."""
    with Session(engine) as session:
        row = _usable(session, token)
        return _account(session.get(User, row.user_id))


def _usable(session: Session, token: str) -> UserToken:
    row = session.scalar(select(UserToken).where(UserToken.token_sha256 == _sha256(token),
                                                 UserToken.purpose == SET_PASSWORD))
    if row is None:
        raise TokenProblem("unknown", "this link is not valid; ask course staff for a new one")
    if row.used_at is not None:
        raise TokenProblem("used", "this link has been used already (or replaced by a newer "
                                   "one); sign in, or ask course staff for a new link")
    if row.expires_at <= _now():
        raise TokenProblem("expired", "this link has expired; ask course staff for a new one")
    return row


def set_password_with_token(engine: Engine, token: str, password: str) -> Account:
    """Use a one-time link: set the password, end every older session, spend the token.

    The token is marked used by a conditional UPDATE, so two requests with the same
    token cannot both succeed.
    """
    check_password_rules(password)
    digest = _hasher.hash(password)
    with Session(engine) as session, session.begin():
        row = _usable(session, token)
        spent = session.execute(update(UserToken)
                                .where(UserToken.id == row.id, UserToken.used_at.is_(None))
                                .values(used_at=_now()))
        if spent.rowcount != 1:
            raise TokenProblem("used", "this link has been used already; sign in")
        user = session.get(User, row.user_id)
        user.password_hash = digest
        user.session_version += 1
        audit(session, "password_set", f"user {user.email}", by=user.email)
        return _account(user)


def authenticate(engine: Engine, email: str, password: str) -> Account | None:
    """The account when email and password match, else None (same answer for both)."""
    email = normalise_email(email)
    if len(password) > MAX_PASSWORD:
        return None
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.email == email))
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # the same work as a real check: no timing oracle on emails
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return _account(user)


def account(engine: Engine, user_id: int) -> Account | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
        return None if user is None else _account(user)


def end_sessions(engine: Engine, user_id: int) -> None:
    """Raise the session version: every cookie issued so far stops working."""
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.id == user_id)
                        .values(session_version=User.session_version + 1))


def list_users(engine: Engine) -> list[tuple[Account, bool]]:
    """Every account (by role, then email), with whether it has a password yet."""
    with Session(engine) as session:
        users = session.scalars(select(User).order_by(User.role, User.email)).all()
        return [(_account(u), u.password_hash is not None) for u in users]


INVITE_TTL = timedelta(days=14)


@dataclass(frozen=True)
class Invitation:
    """One student's link token (in clear, once) and whether the account is new."""

    student_id: str
    name: str
    email: str
    token: str
    new_account: bool


def invite_students(engine: Engine, student_ids: list[str] | None = None, *,
                    ttl: timedelta = INVITE_TTL, by: str | None = None
                    ) -> tuple[list[Invitation], list[str]]:
    """An invitation per roster student (all, or the given ids): a new student account
    with its first link, or a new link for an existing one (a forgotten password; older
    links stop working). Returns (invitations, problems): a problem is one line per
    student who cannot be invited (no email in the roster, an email used by another
    account); UserError for an unknown id."""
    invitations: list[Invitation] = []
    problems: list[str] = []
    with Session(engine) as session:
        query = select(Student).order_by(Student.id)
        if student_ids is not None:
            query = query.where(Student.id.in_(student_ids))
        students = list(session.scalars(query))
        if student_ids is not None:
            unknown = sorted(set(student_ids) - {s.id for s in students})
            if unknown:
                raise UserError(f"unknown student id {', '.join(map(repr, unknown))}; check the "
                                f"id or import the roster (`course roster import`)")
        accounts = {u.student_id: u for u in session.scalars(
            select(User).where(User.role == "student"))}
        taken = {u.email: u for u in session.scalars(select(User))}
    for student in students:
        email = normalise_email(student.email or "")
        existing = accounts.get(student.id)
        if existing is not None:
            token = reset_link(engine, existing.email, ttl=ttl, by=by)
            invitations.append(Invitation(student.id, student.name, existing.email, token, False))
            continue
        if not EMAIL_RE.match(email):
            problems.append(f"student {student.id}: no email address in the roster; add one "
                            f"and run `course roster import` again")
            continue
        if email in taken:
            problems.append(f"student {student.id}: {email} is the login of another account "
                            f"({taken[email].role}); give the student another address")
            continue
        _, token = add_user(engine, email, "student", student_id=student.id, ttl=ttl, by=by)
        invitations.append(Invitation(student.id, student.name, email, token, True))
    return invitations, problems
