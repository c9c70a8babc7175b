"""Typed dependencies: the course, the gradebook, the signed-in account, role checks.

Every route states who may call it with one of `Anyone`, `SignedIn`, `Staff`,
`Instructor` or `Student` (each a `RoleGuard`); `tests/test_web_routes.py` walks the app's
routes and fails on one without a guard. A session is valid only while its
`session_version` equals the account's (signing out or a new password raises it).
Anonymous page requests are sent to the sign-in page; other refusals are 401/403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine

from app.web.settings import WebSettings
from autograder.config import Course
from gradebook.users import Account, account

SESSION_USER = "uid"
SESSION_VERSION = "ver"


def get_course(request: Request) -> Course:
    return request.app.state.course


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> WebSettings:
    return request.app.state.settings


CourseDep = Annotated[Course, Depends(get_course)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]


def session_account(request: Request) -> Account | None:
    """The account of the request's session, or None (no session, or a revoked one)."""
    uid = request.session.get(SESSION_USER)
    if not isinstance(uid, int):
        return None
    found = account(request.app.state.engine, uid)
    if found is None or request.session.get(SESSION_VERSION) != found.session_version:
        request.session.pop(SESSION_USER, None)
        request.session.pop(SESSION_VERSION, None)
        return None
    return found


class NotSignedIn(Exception):
    """Raised by a guard for an anonymous request; the app answers with the sign-in page."""


class RoleGuard:
    """A dependency that admits the given roles (an empty tuple: anyone)."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Account | None:
        if not self.roles:
            return session_account(request)
        found = session_account(request)
        if found is None:
            raise NotSignedIn()
        if found.role not in self.roles:
            raise HTTPException(403, "your account may not open this page")
        return found

    def __repr__(self) -> str:
        return f"RoleGuard{self.roles}"


ANYONE = RoleGuard()
SIGNED_IN = RoleGuard("instructor", "ta", "student")
STAFF = RoleGuard("instructor", "ta")
INSTRUCTOR = RoleGuard("instructor")
STUDENT = RoleGuard("student")

Anyone = Annotated[Account | None, Depends(ANYONE)]
SignedIn = Annotated[Account, Depends(SIGNED_IN)]
Staff = Annotated[Account, Depends(STAFF)]
Instructor = Annotated[Account, Depends(INSTRUCTOR)]
Student = Annotated[Account, Depends(STUDENT)]
