"""The app: `create_app(course, engine, settings)` composes the routers and middleware.

One router per area (`app/web/routers/`), each with the CSRF check as a router-level
dependency and a role guard on every route (`app.web.deps`). Errors become pages:
a user's mistake is a 4xx with one line saying what to do, never a 500; an unexpected
failure is a 500 page that says it is the server's fault, logged with its traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from urllib.parse import quote

from app.web.deps import NotSignedIn
from app.web.pages import STATIC, error_page
from app.web.routers import auth, gradebook, grading, home, student
from app.web.security import LoginLimiter, security_headers
from app.web.settings import WebSettings
from autograder.config import Course
from autograder.core.errors import UserError

log = logging.getLogger("app.web")
ROUTERS = (auth.router, home.router, grading.router, gradebook.router, student.router,
           student.uploads)
SESSION_COOKIE = "fdl_session"


def create_app(course: Course, engine: Engine, settings: WebSettings) -> FastAPI:
    """The web app on `course`'s gradebook `engine` (migrated by the caller)."""
    app = FastAPI(title=f"{course.name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.course = course
    app.state.engine = engine
    app.state.settings = settings
    app.state.login_limiter = LoginLimiter(settings.login_window.total_seconds())

    app.middleware("http")(security_headers)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret,
                       session_cookie=SESSION_COOKIE,
                       max_age=int(settings.session_max_age.total_seconds()),
                       same_site="lax", https_only=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _error_pages(app)
    return app


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _sign_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return error_page(request, 401, "please sign in first")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "the request was refused"
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "there is no such page"
        elif exc.status_code == 405:
            message = "this page does not take that kind of request"
        return error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "the request"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return error_page(request, 422, "; ".join(problems) or "the request is not valid")

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> Response:
        return error_page(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_page(request, 500, "something went wrong on the server (not your "
                                        "fault); staff can find the details in its log")
