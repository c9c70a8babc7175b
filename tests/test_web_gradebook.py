"""The staff gradebook pages: who may open and post what, the numbers, exports, the forms."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html import unescape

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import csrf

from gradebook.export import safe_cell
from gradebook.models import (AuditEntry, Blob, Extension, GradingRun, ManualScore, Override,
                              PublishedModule, Student, Submission)

INSTRUCTOR = "instructor@uni.de"
ON_TIME = datetime(2026, 10, 15, 12, 0, tzinfo=timezone.utc)
LATE = datetime(2026, 10, 21, 12, 0, tzinfo=timezone.utc)  # 2 started days after the due time
TESTS = [{"name": "test_shape", "status": "passed", "score": 4.0, "max_score": 4.0},
         {"name": "test_mean", "status": "failed", "score": 0.0, "max_score": 6.0}]


def add_grades(engine) -> None:
    """s1: an on-time attempt (10/10) and a late one (4/10, counted, factor 0.8), written 2,
    presentation 8/10, bonus 3. s2: presentation 5/10 (an older 1/10 superseded). s3: nothing."""
    with Session(engine) as session, session.begin():
        session.add_all([Blob(sha256="a" * 64, content=b"{}", size=2),
                         Blob(sha256="b" * 64, content=b"{ }", size=3)])
        session.flush()
        session.add_all([
            Submission(student_id="s1", slug="tiny", sha256="a" * 64, attempt=1,
                       submitted_at=ON_TIME, time_source="lms", source_name="s1.ipynb"),
            Submission(student_id="s1", slug="tiny", sha256="b" * 64, attempt=2,
                       submitted_at=LATE, time_source="lms", source_name="s1-2.ipynb"),
            GradingRun(slug="tiny", sha256="a" * 64, suite_hash="h" * 64, status="graded",
                       score=10.0, max_score=10.0, result={"tests": []}, log=""),
            GradingRun(slug="tiny", sha256="b" * 64, suite_hash="h" * 64, status="graded",
                       score=4.0, max_score=10.0, result={"tests": TESTS}, log=""),
            ManualScore(student_id="s1", component="written", slug="tiny", points=2,
                        max_points=2, grader="grader-ta", comment="neat derivation"),
            ManualScore(student_id="s1", component="presentation", points=8, max_points=10),
            ManualScore(student_id="s1", component="bonus", points=3, max_points=0),
            ManualScore(student_id="s2", component="presentation", points=1, max_points=10),
        ])
    with Session(engine) as session, session.begin():
        session.add(ManualScore(student_id="s2", component="presentation", points=5,
                                max_points=10))


@pytest.fixture
def web(web):
    add_grades(web.engine)
    return web


def rename(engine, student_id: str, name: str, lms_id: str | None = None) -> None:
    with Session(engine) as session, session.begin():
        student = session.get(Student, student_id)
        student.name = name
        if lms_id is not None:
            student.lms_id = lms_id


def audit_rows(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def count(engine, model) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(model)).all())


def cells(page: str, column: str) -> dict[str, str]:
    """student id -> the text of its cell in `column` of the gradebook table."""
    out = {}
    for row in re.findall(r"<tr data-search=.*?</tr>", page, flags=re.S):
        sid = re.search(r'<td data-col="student_id"><a [^>]*>([^<]*)</a>', row).group(1)
        found = re.search(rf'<td[^>]*data-col="{re.escape(column)}"[^>]*>([^<]*)</td>', row)
        out[unescape(sid)] = unescape(found.group(1)).strip()
    return out


def values(page: str, column: str) -> dict[str, float]:
    """student id -> the full-precision data-value of a numeric column."""
    out = {}
    for row in re.findall(r"<tr data-search=.*?</tr>", page, flags=re.S):
        sid = re.search(r'<td data-col="student_id"><a [^>]*>([^<]*)</a>', row).group(1)
        found = re.search(rf'data-col="{re.escape(column)}" data-value="([^"]+)"', row)
        out[unescape(sid)] = float(found.group(1))
    return out


# --- who may do what ----------------------------------------------------------------------

PAGES = ["/gradebook", "/gradebook/students/s1", "/gradebook/modules/tiny/stats"]
EXPORTS = ["/gradebook/export/csv", "/gradebook/export/moodle", "/gradebook/export/canvas"]
FORMS = {
    "/gradebook/students/s1/override": {"slug": "tiny", "test": "test_mean", "points": "3",
                                        "reason": "regrade: partial credit"},
    "/gradebook/students/s1/extensions": {"slug": "tiny", "days": "2", "reason": "ill"},
    "/gradebook/modules/tiny/publish": {},
}


@pytest.mark.parametrize("path", PAGES + EXPORTS)
def test_anonymous_requests_go_to_sign_in(web, path):
    answer = web.client().get(path)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", list(FORMS))
def test_anonymous_posts_are_refused(web, path):
    client = web.client()
    with_token = client.post(path, data={**FORMS[path], "csrf_token": csrf(client)})
    assert with_token.status_code == 401 and "sign in" in with_token.text
    assert client.post(path, data=FORMS[path]).status_code == 403
    assert count(web.engine, Override) == count(web.engine, Extension) == 0


@pytest.mark.parametrize("path", PAGES + EXPORTS)
def test_students_may_not_open_the_gradebook(web, path):
    answer = web.signed_in("student").get(path)
    assert answer.status_code == 403 and "may not open this page" in answer.text


@pytest.mark.parametrize("role", ["student", "ta"])
@pytest.mark.parametrize("path", list(FORMS))
def test_only_the_instructor_posts_forms(web, role, path):
    client = web.signed_in(role)
    answer = client.post(path, data={**FORMS[path], "csrf_token": csrf(client, "/gradebook")})
    assert answer.status_code == 403
    assert count(web.engine, Override) == count(web.engine, Extension) == 0
    assert count(web.engine, PublishedModule) == 0


def test_a_ta_reads_every_page_without_forms_or_exports(web):
    ta = web.signed_in("ta")
    for path in PAGES:
        page = ta.get(path)
        assert page.status_code == 200, path
        assert "/export/" not in page.text and 'action="/gradebook/' not in page.text
    for path in EXPORTS:
        assert ta.get(path).status_code == 403


def test_the_instructor_opens_every_page_and_export(web):
    boss = web.signed_in("instructor")
    for path in PAGES:
        assert boss.get(path).status_code == 200, path
    page = boss.get("/gradebook").text
    assert all(f'href="{path}"' in page for path in EXPORTS)
    assert 'href="/gradebook/modules/tiny/stats"' in page
    assert 'href="/gradebook/students/s1"' in page
    assert 'action="/gradebook/students/s1/override"' in boss.get(PAGES[1]).text
    assert 'action="/gradebook/modules/tiny/publish"' in boss.get(PAGES[2]).text
    for path in EXPORTS:
        answer = boss.get(path)
        assert answer.status_code == 200 and answer.headers["content-disposition"].startswith(
            "attachment; filename=")


@pytest.mark.parametrize("path", list(FORMS))
def test_posts_without_the_csrf_token_are_refused(web, path):
    boss = web.signed_in("instructor")
    answer = boss.post(path, data=FORMS[path])
    assert answer.status_code == 403 and "reload the page" in answer.text
    wrong = boss.post(path, data={**FORMS[path], "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert count(web.engine, Override) == count(web.engine, Extension) == 0
    assert count(web.engine, PublishedModule) == 0


# --- the numbers ------------------------------------------------------------------------

def test_final_percentages_equal_course_final(web, course_cli, tiny_course, tmp_path):
    out = tmp_path / "final.csv"
    result = course_cli(tiny_course / "course_config.py", "final", "--csv", str(out))
    assert result.exit_code == 0, result.output
    with out.open(newline="") as fh:
        final = {row["student_id"]: row for row in csv.DictReader(fh)}
    page = web.signed_in("ta").get("/gradebook").text
    shown = values(page, "final")
    assert set(shown) == {"s1", "s2", "s3"}
    for sid, row in final.items():
        assert shown[sid] == pytest.approx(float(row["final"]), abs=1e-9)
        assert values(page, "tiny")[sid] == pytest.approx(float(row["tiny"]), abs=1e-9)
        assert cells(page, "grade")[sid] == row["grade"]
    # s1: the late attempt counts: (4 + 2) / 12 x 0.8 = 40 %; 0.4 x 40 + 0.6 x 80 + 3 = 67
    assert cells(page, "final") == {"s1": "67.0", "s2": "30.0", "s3": "0.0"}
    assert cells(page, "tiny:autograded")["s1"] == "4.0"
    assert cells(page, "tiny:written")["s1"] == "2.0"
    assert cells(page, "grade") == {"s1": "pass", "s2": "fail", "s3": "fail"}


def test_the_filter_works_without_javascript(web):
    ta = web.signed_in("ta")
    page = ta.get("/gradebook", params={"q": "TURING"}).text
    assert set(cells(page, "final")) == {"s2"}
    assert set(cells(ta.get("/gradebook", params={"q": "s3"}).text, "final")) == {"s3"}
    none = ta.get("/gradebook", params={"q": "nobody"})
    assert none.status_code == 200 and "No student matches nobody" in none.text
    assert '<script src="/static/js/table.js"' in page and 'data-type="number"' in page


@pytest.mark.parametrize("kind", ["csv", "moodle", "canvas"])
def test_exports_are_the_bytes_course_export_writes(web, course_cli, tiny_course, tmp_path,
                                                    kind):
    rename(web.engine, "s2", '=HYPERLINK("http://x")', lms_id="-1.5")
    out = tmp_path / f"{kind}.csv"
    result = course_cli(tiny_course / "course_config.py", "export", kind, "--out", str(out))
    assert result.exit_code == 0, result.output
    answer = web.signed_in("instructor").get(f"/gradebook/export/{kind}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.content == out.read_bytes()
    assert b"'=HYPERLINK" in answer.content


def test_an_unknown_export_is_not_found(web):
    answer = web.signed_in("instructor").get("/gradebook/export/xlsx")
    assert answer.status_code == 404 and "use one of: csv, moodle, canvas" in answer.text


# --- formula injection ------------------------------------------------------------------

@pytest.mark.parametrize("text, written", [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'), ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-1.5", "-1.5"), ("+3", "+3"), ("-2e3", "-2e3"), ("Ada", "Ada"),
    ("", ""),
])
def test_cells_a_spreadsheet_would_run_get_a_quote(text, written):
    assert safe_cell(text) == written


def test_exported_names_cannot_be_formulas(web):
    rename(web.engine, "s1", '=HYPERLINK("http://x")', lms_id="-1.5")
    rename(web.engine, "s2", "@SUM(A1)")
    boss = web.signed_in("instructor")
    table = list(csv.reader(io.StringIO(boss.get("/gradebook/export/csv").text)))
    header = table[0]
    s1, s2 = table[1], table[2]
    assert s1[header.index("name")] == '\'=HYPERLINK("http://x")'
    assert s1[header.index("lms_id")] == "-1.5"  # a plain number stays as it is
    assert s2[header.index("name")] == "'@SUM(A1)"
    moodle = list(csv.reader(io.StringIO(boss.get("/gradebook/export/moodle").text)))
    assert moodle[1][1:3] == ["-1.5", '\'=HYPERLINK("http://x")']
    assert moodle[2][2] == "'@SUM(A1)"
    canvas = list(csv.reader(io.StringIO(boss.get("/gradebook/export/canvas").text)))
    assert canvas[2][:2] == ['\'=HYPERLINK("http://x")', "-1.5"]
    assert canvas[3][0] == "'@SUM(A1)"
    assert all(not cell.startswith(("=", "@")) for row in moodle + canvas + table for cell in row)


# --- one student ------------------------------------------------------------------------

def test_the_student_page_shows_attempts_runs_scores_and_the_audit_trail(web):
    boss = web.signed_in("instructor")
    with Session(web.engine) as session, session.begin():
        session.add(AuditEntry(actor="older", action="collect", entity="student s1 / tiny",
                               detail={"attempt": 1}, at=ON_TIME))
        session.add(AuditEntry(actor="someone", action="collect", entity="student s10 / tiny",
                               detail={}, at=ON_TIME))
    assert boss.post("/gradebook/students/s1/extensions", data={
        "slug": "tiny", "days": "1", "reason": "ill", "csrf_token": csrf(boss, "/gradebook")
    }).status_code == 303
    page = boss.get("/gradebook/students/s1").text
    assert "Ada Lovelace" in page and "neat derivation" in page and "grader-ta" in page
    assert "on time" in page and "late (factor 0.9)" in page  # 1 day late after the extension
    assert page.count("counted</td>") == 1 and "(counts)" in page
    assert "10 / 10, graded" in page and "4 / 10, graded" in page
    assert "test_mean" in page and "extended by 1 day(s)" in page
    audit = page[page.index("Audit trail"):]
    assert audit.index("extension") < audit.index("older")  # newest first
    assert "student s10" not in audit
    assert boss.get("/gradebook/students/s2").text.count("No submission.") == 1


def test_an_unknown_student_or_module_is_not_found(web):
    ta = web.signed_in("ta")
    answer = ta.get("/gradebook/students/nobody")
    assert answer.status_code == 404 and "no student &#39;nobody&#39; in the roster" in answer.text
    answer = ta.get("/gradebook/modules/nope/stats")
    assert answer.status_code == 404 and "no module &#39;nope&#39;; the course has: tiny" \
        in answer.text
    boss = web.signed_in("instructor")
    token = csrf(boss, "/gradebook")
    assert boss.post("/gradebook/modules/nope/publish",
                     data={"csrf_token": token}).status_code == 404
    assert boss.post("/gradebook/students/nobody/override",
                     data={**FORMS["/gradebook/students/s1/override"],
                           "csrf_token": token}).status_code == 404


def test_names_are_escaped(web):
    rename(web.engine, "s2", "<script>alert(1)</script>")
    ta = web.signed_in("ta")
    for path in ("/gradebook", "/gradebook/students/s2"):
        page = ta.get(path).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the forms --------------------------------------------------------------------------

def test_an_override_is_saved_with_the_instructor_in_the_audit_log(web):
    boss = web.signed_in("instructor", INSTRUCTOR)
    answer = boss.post("/gradebook/students/s1/override",
                       data={**FORMS["/gradebook/students/s1/override"],
                             "csrf_token": csrf(boss, "/gradebook")})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/gradebook/students/s1?done=override"
    (entry,) = audit_rows(web.engine, "override")
    assert entry.actor == INSTRUCTOR and entry.entity == "student s1 / tiny"
    assert entry.detail["test"] == "test_mean" and entry.detail["new_points"] == 3.0
    page = boss.get(answer.headers["location"]).text
    assert "The override is saved." in page and "regrade: partial credit" in page
    # 4 + 3 = 7 autograded points now count: (7 + 2) / 12 x 0.8 = 60 %
    assert cells(boss.get("/gradebook").text, "tiny")["s1"] == "60.0"


def test_an_extension_is_saved_with_the_instructor_in_the_audit_log(web):
    boss = web.signed_in("instructor", INSTRUCTOR)
    answer = boss.post("/gradebook/students/s1/extensions",
                       data={"slug": "tiny", "days": "2", "reason": "ill",
                             "csrf_token": csrf(boss, "/gradebook")})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/gradebook/students/s1?done=extension"
    (entry,) = audit_rows(web.engine, "extension")
    assert entry.actor == INSTRUCTOR and entry.detail == {"days": 2, "reason": "ill"}
    assert "The extension is saved." in boss.get(answer.headers["location"]).text
    # the late attempt is on time now: (4 + 2) / 12 = 50 %
    assert cells(boss.get("/gradebook").text, "tiny")["s1"] == "50.0"


def test_publishing_is_saved_once_with_the_instructor_in_the_audit_log(web):
    boss = web.signed_in("instructor", INSTRUCTOR)
    token = csrf(boss, "/gradebook")
    answer = boss.post("/gradebook/modules/tiny/publish", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/gradebook/modules/tiny/stats?done=publish"
    again = boss.post("/gradebook/modules/tiny/publish", data={"csrf_token": token})
    assert again.headers["location"].endswith("done=published")
    (entry,) = audit_rows(web.engine, "publish")
    assert entry.actor == INSTRUCTOR
    with Session(web.engine) as session:
        assert session.get(PublishedModule, "tiny").published_by == INSTRUCTOR
    page = boss.get(answer.headers["location"]).text
    assert "The module is published." in page and "<strong>published</strong>" in page


@pytest.mark.parametrize("path, changes, message", [
    ("override", {"test": "test_nope"}, "has no test &#39;test_nope&#39;"),
    ("override", {"points": "7"}, "must be between 0 and its max_score 6"),
    ("override", {"points": "-1"}, "must be between 0 and its max_score 6"),
    ("override", {"points": "lots"}, "points &#39;lots&#39; is not a number"),
    ("override", {"points": "nan"}, "points &#39;nan&#39; is not a number"),
    ("override", {"reason": "  "}, "an override needs a reason"),
    ("override", {"slug": "nope"}, "unknown module"),
    ("extensions", {"days": "0"}, "must be a whole number &gt;= 1"),
    ("extensions", {"days": "-3"}, "must be a whole number &gt;= 1"),
    ("extensions", {"days": "two"}, "days &#39;two&#39; is not a whole number"),
    ("extensions", {"slug": "nope"}, "unknown module"),
])
def test_bad_values_are_refused_with_one_line(web, path, changes, message):
    boss = web.signed_in("instructor")
    url = f"/gradebook/students/s1/{path}"
    answer = boss.post(url, data={**FORMS[url], **changes, "csrf_token": csrf(boss, "/gradebook")})
    assert answer.status_code in (400, 422)
    assert message in answer.text and 'role="alert"' in answer.text
    assert count(web.engine, Override) == count(web.engine, Extension) == 0
    assert audit_rows(web.engine, "override") == audit_rows(web.engine, "extension") == []


def test_an_override_needs_a_graded_counted_attempt(web):
    boss = web.signed_in("instructor")
    answer = boss.post("/gradebook/students/s2/override",
                       data={**FORMS["/gradebook/students/s1/override"],
                             "csrf_token": csrf(boss, "/gradebook")})
    assert answer.status_code == 400 and "has no graded submission" in answer.text


# --- one module -------------------------------------------------------------------------

def test_the_stats_page_has_the_numbers_and_plots_of_course_stats(web):
    page = web.signed_in("ta").get("/gradebook/modules/tiny/stats")
    assert page.status_code == 200 and "img-src 'self' data:" in \
        page.headers["content-security-policy"]
    text = page.text
    assert "Tests (1 students)" in text and "test_shape" in text and "100.0%" in text
    assert text.count('<img src="data:image/png;base64,') == 3  # scores, pass rates, grades
    assert "tiny_scores.png" in text and "final_grades.png" in text
    assert "not published</strong>" in text


def test_the_stats_page_of_a_module_without_grades(web):
    with Session(web.engine) as session, session.begin():
        for run in session.scalars(select(GradingRun)):
            session.delete(run)
    text = web.signed_in("ta").get("/gradebook/modules/tiny/stats").text
    assert "No graded submissions yet" in text
    assert text.count('<img src="data:image/png;base64,') == 1  # the final grades only
