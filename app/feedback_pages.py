"""HTML of a student's feedback: the templates of `app/web/templates/feedback/`.

`gradebook.feedback` builds the data (`FeedbackView`); this module renders it. The
fragment `feedback/results.html` (score line, tests, notes, written scores, final grade)
is the one implementation: `feedback/page.html` includes it in a standalone document with
its CSS inline (the files `course feedback SLUG` writes), and the student web page
includes it with the same context (`feedback_context`). Autoescaping is on and no
template marks a value safe, so student text is always escaped.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autograder.config import Course
from gradebook.feedback import FeedbackView, result_view
from gradebook.models import Student

TEMPLATES = Path(__file__).resolve().parent / "web" / "templates"
PAGE = "feedback/page.html"

# the same directory as the web app's environment (app.web.pages), without the web stack,
# so that `course feedback` needs no FastAPI; StrictUndefined catches a misspelt field
_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                   undefined=StrictUndefined)


def feedback_context(view: FeedbackView) -> dict[str, Any]:
    """The context `feedback/results.html` expects (a page including it passes this)."""
    return {"view": view}


def render_feedback_page(view: FeedbackView) -> str:
    """The standalone HTML document of one view (a file of `course feedback`)."""
    return _env.get_template(PAGE).render(feedback_context(view)) + "\n"


def render_feedback(course: Course, student: Student | str, slug: str, result: dict[str, Any],
                    now: datetime, published: bool, extension_days: int = 0) -> str:
    """The page of one grading result without the gradebook (`gradebook.feedback.result_view`):
    tests and notes only, no written scores or final grade."""
    return render_feedback_page(result_view(course, student, slug, result, now, published,
                                            extension_days))
