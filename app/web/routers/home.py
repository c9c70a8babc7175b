"""The start page: staff go to grading, students to their page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from app.web.deps import CourseDep, EngineDep, SignedIn
from app.web.pages import course_time, render
from app.web.security import csrf_protect
from gradebook.portal import module_cards

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/")
def home(request: Request, course: CourseDep, engine: EngineDep, me: SignedIn) -> Response:
    if me.is_staff:
        return RedirectResponse("/grading", status_code=303)
    return render(request, "student/assignments.html", title="Your assignments",
                  cards=module_cards(course, engine, me.student_id), when=course_time(course),
                  tz=course.timezone)
