"""Rendering pages: the Jinja2 environment (autoescaped), and the error pages.

Templates live in `app/web/templates/<area>/`; every page extends `base.html`, which
loads only files from `/static/` (the CSP allows nothing else). `render` adds the
signed-in account, the CSRF token and the course to every template's context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from app.web.deps import session_account
from app.web.markdown import render_code, render_markdown
from app.web.security import csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.autoescape = True
templates.env.filters["markdown"] = render_markdown
templates.env.filters["code"] = render_code


def course_time(course: Any) -> Callable[[datetime | None], str]:
    """A formatter of instants in the course's time zone, for templates ("" for None)."""
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(course.tz).strftime("%Y-%m-%d %H:%M")
    return when


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    """The page `template` with `context`, the account (`me`), the CSRF token and the course."""
    context.setdefault("me", session_account(request))
    context["csrf_token"] = csrf_token(request)
    context["course"] = request.app.state.course
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """One page for every refusal: the status and one line saying what to do."""
    titles = {400: "Not accepted", 401: "Please sign in", 403: "Not allowed",
              404: "Not found", 405: "Not allowed", 409: "Taken", 413: "Too large",
              422: "Not accepted", 429: "Too many attempts"}
    return render(request, "error.html", status_code=status_code,
                  title=titles.get(status_code, "Error"), message=message)
