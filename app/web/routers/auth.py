"""Signing in and out, and setting a password through a one-time link.

- `/login`: email and password; a new session on every sign-in (the old session's
  contents, CSRF token included, are dropped). Failed attempts are rate-limited per email
  and per client (429 with the wait).
- `/set-password`: the link printed by `course users add` carries the token in the URL
  fragment (`#token=...`), which browsers never send, so it never lands in an access
  log; the page's script copies it into the form, which POSTs it. The token is single
  use and expires; a used, replaced, expired or unknown link gets its own message.
- `/logout` (POST) ends every session of the account (its session version rises).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from app.web.deps import (SESSION_USER, SESSION_VERSION, Anyone, EngineDep, SettingsDep,
                          SignedIn)
from app.web.pages import error_page, render
from app.web.security import csrf_protect
from autograder.core.errors import UserError
from gradebook.users import (MAX_PASSWORD, Account, TokenProblem, authenticate, end_sessions,
                             normalise_email, set_password_with_token)

router = APIRouter(dependencies=[Depends(csrf_protect)])

EmailField = Annotated[str, Form(max_length=200)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD)]


def _safe_next(target: str | None) -> str:
    """Only a local path: never an absolute or protocol-relative URL (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _start_session(request: Request, found: Account) -> None:
    request.session.clear()  # a new session: nothing from before sign-in survives
    request.session[SESSION_USER] = found.id
    request.session[SESSION_VERSION] = found.session_version


@router.get("/login")
def login_page(request: Request, me: Anyone, next: str | None = None) -> Response:
    if me is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", title="Sign in", next=_safe_next(next))


@router.post("/login")
def login(request: Request, engine: EngineDep, settings: SettingsDep, me: Anyone,
          email: EmailField, password: PasswordField,
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    limiter = request.app.state.login_limiter
    keys = ((f"email:{normalise_email(email)}", settings.login_failures_per_email),
            (f"client:{request.client.host if request.client else '-'}",
             settings.login_failures_per_client))
    wait = max(limiter.retry_after(key, limit) for key, limit in keys)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        return error_page(request, 429, f"too many failed sign-ins; try again in {minutes} "
                                        f"minute{'s' if minutes > 1 else ''}")
    found = authenticate(engine, email, password)
    if found is None:
        for key, _ in keys:
            limiter.failed(key)
        return render(request, "auth/login.html", status_code=401, title="Sign in",
                      next=_safe_next(next), email=email,
                      error="the email or the password is wrong")
    limiter.succeeded(keys[0][0])
    _start_session(request, found)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, engine: EngineDep, me: SignedIn) -> Response:
    end_sessions(engine, me.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/set-password")
def set_password_page(request: Request, me: Anyone) -> Response:
    return render(request, "auth/set_password.html", title="Set your password")


@router.post("/set-password")
def set_password(request: Request, engine: EngineDep, me: Anyone,
                 token: Annotated[str, Form(max_length=200)], password: PasswordField,
                 confirm: PasswordField) -> Response:
    def again(message: str, status: int) -> Response:
        return render(request, "auth/set_password.html", status_code=status,
                      title="Set your password", error=message, token=token)

    if password != confirm:
        return again("the two passwords differ; type the same password twice", 422)
    try:
        found = set_password_with_token(engine, token, password)
    except TokenProblem as exc:
        return render(request, "auth/link_problem.html", status_code=410 if exc.reason in
                      ("used", "expired") else 404, title="This link cannot be used",
                      message=str(exc), reason=exc.reason)
    except UserError as exc:
        return again(str(exc), 422)
    _start_session(request, found)
    return RedirectResponse("/", status_code=303)


