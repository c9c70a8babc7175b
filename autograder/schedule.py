"""The term's calendar from `course_config.py`: when each module opens, is due, closes.

Status of a module at an instant `now` (all instants in the course's time zone):
- upcoming: before its release date;
- released: released, not yet due;
- due: past the due time, late submissions still count (up to the cut-off);
- closed: past the cut-off; nothing submitted now counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from autograder.config import Course
from autograder.core.errors import UserError

STATUSES = ("upcoming", "released", "due", "closed")


@dataclass(frozen=True)
class ScheduleRow:
    slug: str
    title: str
    week: int
    release_at: datetime
    due_at: datetime
    cutoff_at: datetime
    status: str


def module_status(course: Course, slug: str, now: datetime) -> str:
    """upcoming, released, due or closed (see the module docstring)."""
    if now < course.release_at(slug):
        return "upcoming"
    if now <= course.due_at(slug):
        return "released"
    if now <= course.cutoff_at(slug):
        return "due"
    return "closed"


def schedule(course: Course, now: datetime) -> list[ScheduleRow]:
    """One row per module, in teaching order."""
    return [ScheduleRow(m.slug, m.title, m.release_week, course.release_at(m.slug),
                        course.due_at(m.slug), course.cutoff_at(m.slug),
                        module_status(course, m.slug, now))
            for m in course.modules]


def parse_instant(course: Course, text: str | None) -> datetime:
    """`--as-of` values: None (now), a date (end of that day) or an ISO date-time,
    read in the course's zone when it carries none."""
    if text is None:
        return datetime.now(course.tz)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=course.tz)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text!r} is not a date (YYYY-MM-DD) or date-time "
                        f"(YYYY-MM-DDTHH:MM); fix the option's value") from None
    return value if value.tzinfo else value.replace(tzinfo=course.tz)
