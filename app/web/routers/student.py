"""The student portal: released modules, uploads, grading state, results.

Every route takes the `Student` guard and works on the signed-in student's own records
only: ids in URLs are module slugs (public) and the student's own submission ids, checked
against the session's student. Nothing a student uploads is used as a path; the bundle
comes from the release manifest.

- `GET /` (students): the modules released so far (`gradebook.portal.module_cards`).
- `GET /modules/{slug}`: due date, late policy, extension, the bundle, the upload form,
  the attempts with their grading state (polled by htmx while one waits), the results
  (`gradebook.feedback.feedback_view` rendered by the same fragment as `course feedback`:
  visible tests at once, the others as their publication rules say).
- `GET /modules/{slug}/bundle`: the released bundle (404 "not available yet" otherwise).
- `POST /modules/{slug}/submissions`: an upload (`app.web.uploads.read_upload` bounds it,
  `gradebook.submission_check` checks it, `gradebook.portal.accept_upload` stores it and
  its grading job in one transaction).
- `GET /modules/{slug}/status`: the attempts and the results alone (the htmx poll).
- `POST /modules/{slug}/choice`: the attempt that counts (when the course lets students
  choose).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response

from app.feedback_pages import feedback_context
from app.web.deps import CourseDep, EngineDep, Student
from app.web.pages import course_time, render
from app.web.security import csrf_protect
from autograder.config import ConfigError
from autograder.core.errors import UserError
from autograder import schedule
from app.web.uploads import read_upload, upload_limit
from gradebook import portal
from gradebook.feedback import feedback_view
from gradebook.submission_check import check_submission

router = APIRouter(dependencies=[Depends(csrf_protect)])
# the upload route reads its body itself, bounded, and checks the CSRF token there
# (`app.web.uploads.read_upload`); `csrf_protect` never parses a multipart body
uploads = APIRouter()

FLASH = "upload_flash"


def _card(course, engine, student_id: str, slug: str) -> portal.ModuleCard:
    try:
        course.module(slug)
        return portal.module_card(course, engine, student_id, slug)
    except (ConfigError, LookupError):
        raise HTTPException(404, f"there is no released module {slug!r}; pick one from "
                                 f"your assignments page") from None


def _waiting(card: portal.ModuleCard) -> bool:
    return any(a.state in ("queued", "waiting", "grading") for a in card.attempts)


@router.get("/modules/{slug}")
def module_page(request: Request, course: CourseDep, engine: EngineDep, me: Student,
                slug: str) -> Response:
    card = _card(course, engine, me.student_id, slug)
    flash = request.session.pop(FLASH, None)
    return render(request, "student/module.html", title=card.title, card=card,
                  **feedback_context(feedback_view(course, engine, me.student_id, slug)),
                  when=course_time(course), late=course.late, flash=flash, polling=_waiting(card),
                  choosing=course.portal.attempt == "student_choice",
                  max_mb=course.portal.max_upload_mb, tz=course.timezone)


@router.get("/modules/{slug}/status")
def module_status(request: Request, course: CourseDep, engine: EngineDep, me: Student,
                  slug: str) -> Response:
    card = _card(course, engine, me.student_id, slug)
    return render(request, "student/live.html", title=card.title, card=card,
                  **feedback_context(feedback_view(course, engine, me.student_id, slug)),
                  when=course_time(course), polling=_waiting(card),
                  choosing=course.portal.attempt == "student_choice")


@router.get("/modules/{slug}/bundle")
def bundle(course: CourseDep, engine: EngineDep, me: Student, slug: str) -> Response:
    _card(course, engine, me.student_id, slug)
    path = portal.bundle_file(course, slug)
    if path is None:
        raise HTTPException(404, "the assignment's files are not available yet; try again "
                                 "later or ask the course staff")
    return FileResponse(path, filename=path.name, media_type="application/zip")


def _released(course, slug: str) -> str:
    """The module's schedule status; 404 for an unknown or unreleased module."""
    try:
        status = schedule.module_status(course, slug, datetime.now(timezone.utc))
    except ConfigError:
        status = "upcoming"
    if status == "upcoming":
        raise HTTPException(404, f"there is no released module {slug!r}; pick one from "
                                 f"your assignments page")
    return status


def _store(course, engine, me, slug: str, sent) -> tuple:
    """Check and store an upload (blocking work: run in a thread, off the event loop)."""
    checked = check_submission(course, slug, sent.content, sent.filename)
    accepted = portal.accept_upload(course, engine, me.student_id, slug, sent.content,
                                    sent.filename or f"{slug}.ipynb",
                                    datetime.now(timezone.utc), by=me.email)
    return checked, accepted


@uploads.post("/modules/{slug}/submissions")
async def upload(request: Request, course: CourseDep, engine: EngineDep, me: Student,
                 slug: str) -> Response:
    status = _released(course, slug)
    sent = await read_upload(request, upload_limit(course))
    try:
        checked, accepted = await run_in_threadpool(_store, course, engine, me, slug, sent)
    except portal.UploadRefused as exc:
        code = 409 if exc.retry_at is None else 429
        raise HTTPException(code, str(exc)) from None
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    request.session[FLASH] = {
        "stored": accepted.submission_id is not None, "attempt": accepted.attempt,
        "late_factor": accepted.late_factor, "warnings": list(checked.warnings),
        "waits_until": accepted.not_before.isoformat() if accepted.not_before else None,
        "closed": status == "closed"}
    return RedirectResponse(f"/modules/{slug}", status_code=303)


@router.post("/modules/{slug}/choice")
def choose(course: CourseDep, engine: EngineDep, me: Student, slug: str,
           submission_id: Annotated[int, Form()]) -> Response:
    _card(course, engine, me.student_id, slug)
    try:
        portal.choose_attempt(course, engine, me.student_id, slug, submission_id, by=me.email)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/modules/{slug}", status_code=303)
