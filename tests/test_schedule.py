"""`course schedule`: statuses at the edges of each module's dates, and the table."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from autograder.schedule import module_status, parse_instant, schedule


@pytest.fixture
def course(tiny_course):
    return load_course(tiny_course / "course_config.py")


def test_status_moves_through_the_term(course):
    release, due, cutoff = (course.release_at("tiny"), course.due_at("tiny"),
                            course.cutoff_at("tiny"))
    assert (release.date().isoformat(), due.date().isoformat()) == ("2026-10-12", "2026-10-19")
    assert (due.hour, due.minute, str(due.tzinfo)) == (23, 59, "Europe/Berlin")
    assert cutoff - due == timedelta(days=7)
    second = timedelta(seconds=1)
    assert module_status(course, "tiny", release - second) == "upcoming"
    assert module_status(course, "tiny", release) == "released"
    assert module_status(course, "tiny", due) == "released"  # on time up to the due instant
    assert module_status(course, "tiny", due + second) == "due"
    assert module_status(course, "tiny", cutoff) == "due"
    assert module_status(course, "tiny", cutoff + second) == "closed"


def test_dates_are_read_in_the_course_zone(course):
    end_of_day = parse_instant(course, "2026-10-19")
    assert (end_of_day.hour, end_of_day.minute, str(end_of_day.tzinfo)) == \
        (23, 59, "Europe/Berlin")
    assert parse_instant(course, "2026-10-20T08:00").tzinfo is course.tz
    with pytest.raises(UserError, match="not a date"):
        parse_instant(course, "next monday")
    rows = schedule(course, datetime(2026, 10, 20, 12, tzinfo=course.tz))
    assert [(r.slug, r.status, r.week) for r in rows] == [("tiny", "due", 1)]


def test_schedule_table_of_the_real_course(course_cli):
    from conftest import REPO

    result = course_cli(REPO / "course_config.py", "schedule", "--as-of", "2026-11-22")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for slug in ("transformer", "vae", "ppo"):
        assert slug[:6] in out
    # transformer (due 10-26, late until 11-02) is closed; ppo (week 11) is upcoming
    assert "closed" in out and "upcom" in out


def test_schedule_bad_date_is_one_line(course_cli, tiny_course):
    result = course_cli(tiny_course / "course_config.py", "schedule", "--as-of", "soon")
    assert result.exit_code == 2
    assert "not a date" in result.output and "Traceback" not in result.output
