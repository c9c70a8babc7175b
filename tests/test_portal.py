"""The student portal's rules (gradebook.portal, gradebook.users.invite_students) and pages."""

from __future__ import annotations

import csv
import dataclasses
import json
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import csrf

from autograder.config import PortalConfig
from autograder.core.errors import UserError
from gradebook import portal
from gradebook.models import AuditEntry, GradingJob, Student, Submission
from gradebook.results import counted_results
from gradebook.users import authenticate, invite_students, set_password_with_token


def _notebook(course, tag: str) -> bytes:
    nb = json.loads((course.root / "solutions" / "tiny" / "tiny.ipynb").read_text())
    nb["metadata"]["variant"] = tag
    return json.dumps(nb).encode()


def _open(course):
    """An instant while the tiny module is open (before its due time)."""
    return course.due_at("tiny") - timedelta(days=2)


# --- invitations ------------------------------------------------------------------------

def test_invitations_make_student_accounts_and_new_links(book):
    course, engine = book
    invitations, problems = invite_students(engine)
    assert problems == []
    assert [(i.student_id, i.email, i.new_account) for i in invitations] == [
        ("s1", "ada@uni.de", True), ("s2", "alan@uni.de", True), ("s3", "grace@uni.de", True)]
    account = set_password_with_token(engine, invitations[0].token, "a long password 1")
    assert (account.role, account.student_id) == ("student", "s1")
    # a new invitation resets a forgotten password; the old link stops working
    again, _ = invite_students(engine, ["s1"])
    assert again[0].new_account is False
    with pytest.raises(UserError):
        set_password_with_token(engine, invitations[0].token, "another password 2")
    set_password_with_token(engine, again[0].token, "another password 2")
    assert authenticate(engine, "ada@uni.de", "another password 2") is not None
    with pytest.raises(UserError, match="unknown student id 'nobody'"):
        invite_students(engine, ["nobody"])


def test_a_student_without_email_is_reported_not_invited(book):
    course, engine = book
    with Session(engine) as session, session.begin():
        session.get(Student, "s2").email = ""
    invitations, problems = invite_students(engine)
    assert [i.student_id for i in invitations] == ["s1", "s3"]
    assert problems == ["student s2: no email address in the roster; add one and run "
                        "`course roster import` again"]


def test_course_invite_writes_a_private_csv(tiny_course, course_cli, book):
    out = tiny_course / "invitations.csv"
    result = course_cli(tiny_course / "course_config.py", "invite", "--out", str(out),
                        "--base-url", "https://course.example/")
    assert result.exit_code == 0, result.output
    assert "3 invitation(s) (3 new account(s), 0 new link(s))" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(out.open()))
    assert [r["student_id"] for r in rows] == ["s1", "s2", "s3"]
    assert all(r["link"].startswith("https://course.example/set-password#token=") for r in rows)
    again = course_cli(tiny_course / "course_config.py", "invite", "--student", "s2",
                       "--out", str(out))
    assert again.exit_code == 0 and "(0 new account(s), 1 new link(s))" in again.output


# --- uploads ------------------------------------------------------------------------------

def test_an_upload_is_stored_with_its_job_and_the_same_notebook_changes_nothing(book):
    course, engine = book
    now = _open(course)
    first = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "a"),
                                 "mine.ipynb", now, by="ada@uni.de")
    assert (first.attempt, first.late_factor, first.not_before) == (1, 1.0, None)
    same = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "a"),
                                "again.ipynb", now)
    assert same.submission_id is None
    with Session(engine) as session:
        subs = session.scalars(select(Submission)).all()
        jobs = session.scalars(select(GradingJob)).all()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "upload")).one()
    assert [(s.student_id, s.attempt, s.time_source, s.source_name) for s in subs] == \
        [("s1", 1, "web", "mine.ipynb")]
    assert [(j.submission_id, j.state) for j in jobs] == [(subs[0].id, "queued")]
    assert entry.actor == "ada@uni.de"
    assert subs[0].submitted_at == now  # the server's time


def test_late_and_closed_uploads_say_so_and_early_ones_are_refused(book):
    course, engine = book
    late = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "late"),
                                "x.ipynb", course.due_at("tiny") + timedelta(hours=30))
    assert late.late_factor == pytest.approx(0.8)  # 2 started days late
    closed = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "closed"),
                                  "x.ipynb", course.cutoff_at("tiny") + timedelta(hours=1))
    assert closed.late_factor == 0.0
    with pytest.raises(portal.UploadRefused, match="not released yet"):
        portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "early"),
                             "x.ipynb", course.release_at("tiny") - timedelta(hours=1))


def test_the_hourly_limit_defers_gradings_then_refuses(book):
    course, engine = book
    course = dataclasses.replace(course, portal=PortalConfig(gradings_per_hour=2,
                                                             pending_beyond_limit=1))
    now = _open(course)
    a = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "1"), "a", now)
    b = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "2"), "b",
                             now + timedelta(minutes=10))
    assert a.not_before is None and b.not_before is None
    c = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "3"), "c",
                             now + timedelta(minutes=20))
    assert c.not_before == now + timedelta(hours=1)  # when the first leaves the window
    with pytest.raises(portal.UploadRefused, match="1 upload\\(s\\) waiting") as refused:
        portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "4"), "d",
                             now + timedelta(minutes=30))
    assert refused.value.retry_at is not None
    # another student is not affected
    other = portal.accept_upload(course, engine, "s2", "tiny", _notebook(course, "5"), "e",
                                 now + timedelta(minutes=30))
    assert other.not_before is None
    card = portal.module_card(course, engine, "s1", "tiny", now + timedelta(minutes=30))
    assert [a.state for a in card.attempts] == ["queued", "queued", "waiting"]
    assert card.attempts[0].position == 1


def test_the_student_may_choose_the_attempt_that_counts(book):
    course, engine = book
    now = _open(course)
    first = portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "1"), "a", now)
    portal.accept_upload(course, engine, "s1", "tiny", _notebook(course, "2"), "b",
                         now + timedelta(minutes=5))
    portal.accept_upload(course, engine, "s2", "tiny", _notebook(course, "3"), "c", now)
    with pytest.raises(UserError, match="nothing to choose"):
        portal.choose_attempt(course, engine, "s1", "tiny", first.submission_id)
    choosing = dataclasses.replace(course, portal=PortalConfig(attempt="student_choice"))
    assert counted_results(choosing, engine)[("s1", "tiny")].attempt == 2
    portal.choose_attempt(choosing, engine, "s1", "tiny", first.submission_id)
    assert counted_results(choosing, engine)[("s1", "tiny")].attempt == 1
    assert counted_results(course, engine)[("s1", "tiny")].attempt == 2  # the default rule
    theirs = counted_results(course, engine)[("s2", "tiny")].submission_id
    with pytest.raises(LookupError):
        portal.choose_attempt(choosing, engine, "s1", "tiny", theirs)


# --- pages --------------------------------------------------------------------------------

def test_the_assignments_and_module_pages(web):
    client = web.signed_in("student")
    home = client.get("/")
    assert home.status_code == 200 and "Tiny numpy module" in home.text
    page = client.get("/modules/tiny")
    assert page.status_code == 200
    assert "files are not available yet." in page.text
    assert "Nothing handed in yet." in page.text
    assert client.get("/modules/tiny/bundle").status_code == 404
    assert client.get("/modules/nosuch").status_code == 404
    assert client.get("/modules/tiny/status").status_code == 200


def test_a_student_cannot_choose_another_students_attempt(web):
    course = dataclasses.replace(web.course, portal=PortalConfig(attempt="student_choice"))
    web = dataclasses.replace(web, course=course)
    now = datetime.now(timezone.utc)
    theirs = portal.accept_upload(course, web.engine, "s2", "tiny", _notebook(course, "x"),
                                  "x", now)
    client = web.signed_in("student")
    r = client.post("/modules/tiny/choice", data={"csrf_token": csrf(client, "/"),
                                                  "submission_id": str(theirs.submission_id)})
    assert r.status_code == 404 and "no such attempt of yours" in r.text


def _post(client, notebook: bytes, name: str = "hw.ipynb", slug: str = "tiny"):
    return client.post(f"/modules/{slug}/submissions", data={"csrf_token": csrf(client, "/")},
                       files={"notebook": (name, notebook, "application/x-ipynb+json")})


def test_uploading_from_the_page(web):
    client = web.signed_in("student")
    r = _post(client, _notebook(web.course, "a"), name="../../etc/passwd")
    assert r.status_code == 303 and r.headers["location"] == "/modules/tiny"
    page = client.get("/modules/tiny").text
    assert "Attempt 1 is stored" in page and "queued for grading" in page
    assert "The module is closed: this upload scores 0." in page  # the tiny module closed
    assert 'data-state="queued"' in page and "passwd" in page and "../" not in page
    assert "Attempt 1 is stored" not in client.get("/modules/tiny").text  # shown once
    assert _post(client, _notebook(web.course, "a")).status_code == 303
    assert "exactly this notebook before" in client.get("/modules/tiny").text
    with Session(web.engine) as session:
        assert [s.source_name for s in session.scalars(select(Submission))] == ["passwd"]


def test_an_upload_missing_an_answer_cell_is_stored_with_a_warning(web):
    nb = json.loads(_notebook(web.course, "b"))
    nb["cells"] = [c for c in nb["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "counter"]
    client = web.signed_in("student")
    assert _post(client, json.dumps(nb).encode()).status_code == 303
    page = client.get("/modules/tiny").text
    assert "Attempt 1 is stored" in page and "counter" in page


@pytest.mark.parametrize("body, status, message", [
    (b"not json at all", 422, "not a Jupyter notebook"),
    (b'{"cells": 3}', 422, "not a Jupyter notebook"),
    (b"[" * 100_000, 422, "deeper than 64 levels"),
    (b"x" * (21 * 1024 * 1024), 413, "larger than 20 MB"),
])
def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(web, body, status,
                                                                      message):
    client = web.signed_in("student")
    r = _post(client, body)
    assert r.status_code == status, r.text[:300]
    assert message in r.text
    with Session(web.engine) as session:
        assert session.scalars(select(Submission)).all() == []
        assert session.scalars(select(GradingJob)).all() == []


def test_an_upload_without_the_token_or_by_staff_is_refused(web):
    client = web.signed_in("student")
    r = client.post("/modules/tiny/submissions",
                    files={"notebook": ("hw.ipynb", _notebook(web.course, "c"), "text/plain")})
    assert r.status_code == 403
    ta = web.signed_in("ta")
    r = ta.post("/modules/tiny/submissions", data={"csrf_token": csrf(ta, "/grading")},
                files={"notebook": ("hw.ipynb", _notebook(web.course, "c"), "text/plain")})
    assert r.status_code == 403


def test_a_compressed_upload_expanding_past_the_cap_is_refused(web):
    import gzip

    client = web.signed_in("student")
    token = csrf(client, "/")
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}"
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"notebook\"; "
            f"filename=\"hw.ipynb\"\r\n\r\n").encode() + b" " * (30 * 1024 * 1024) + \
        f"\r\n--{boundary}--\r\n".encode()
    packed = gzip.compress(body)
    assert len(packed) < 100_000
    r = client.post("/modules/tiny/submissions", content=packed,
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                             "Content-Encoding": "gzip"})
    assert r.status_code == 413 and "larger than 20 MB" in r.text
    with Session(web.engine) as session:
        assert session.scalars(select(Submission)).all() == []
