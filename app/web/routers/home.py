"""The start page: staff go to grading, students to their page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from app.web.deps import SignedIn
from app.web.pages import render
from app.web.security import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/")
def home(request: Request, me: SignedIn) -> Response:
    if me.is_staff:
        return RedirectResponse("/grading", status_code=303)
    return render(request, "home_student.html", title="Your course")
