"""One template for a student's feedback (static export and web page); the publications
of written scores and final grades (functions, `course publish`, staff buttons)."""

from __future__ import annotations

from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import csrf, hand_in, write_tiny_rubric

from app.feedback_pages import feedback_context, render_feedback_page
from autograder.core.student_text import student_block
from gradebook import marking, queues
from gradebook.export import gradebook_view
from gradebook.feedback import (FeedbackView, feedback_view, final_view, is_published_final,
                                is_published_written, publish_final, publish_written,
                                result_view, write_feedback, written_view)
from gradebook.models import AuditEntry, Publication

UTC = timezone.utc
NOW = datetime(2026, 10, 15, tzinfo=UTC)
BOSS = "boss@uni.de"
ITEM_NAMES = "Names overflow of exp for large inputs."
ITEM_SHIFT = "Softmax does not change when a constant is subtracted."
NOTE_SHIFT = "Accept shift invariance stated in words."  # a grader note: never shown
ITEM_UNUSED = "Claims the result changes."
COMMENT = "Good, but see <b>section 2</b> & the notes."


def _result() -> dict:
    tests = [{"name": "test_alpha", "score": 2.0, "max_score": 2.0, "status": "passed",
              "output": "", "visibility": "visible"},
             {"name": "test_beta", "score": 0.0, "max_score": 3.0, "status": "failed",
              "output": "beta failed:\n" + student_block("ValueError: <oops> from 'student'"),
              "visibility": "visible"},
             {"name": "test_secret", "score": 1.0, "max_score": 1.0, "status": "passed",
              "output": "the secret message", "visibility": "hidden"},
             {"name": "test_later", "score": 1.0, "max_score": 1.0, "status": "passed",
              "output": "", "visibility": "after_published"}]
    return {"score": 4.0, "max_score": 7.0, "output": "Score: 99 / 99", "tests": tests,
            "extra_data": {"dropped_cells": ["print('x')"], "load_errors": [],
                           "extraction_problems": [], "integrity_flags": []}}


class _Text(HTMLParser):
    """The page's text, one chunk per text node, whitespace-only chunks left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.skip += tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("style", "title")

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.skip:
            self.chunks.append(data.strip())


def _text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.chunks


@pytest.fixture
def marked(web):
    """s1 and s2 handed in; s1's written answer graded with two items, an adjustment and
    a comment; s2's graded with nothing applied."""
    course, engine = web.course, web.engine
    write_tiny_rubric(course)
    hand_in(course, engine, {"s1": "Exp overflows.", "s2": "No idea."})
    queues.sync_queues(course, engine)
    queue = next(q for q in queues.queues(engine) if q.component == "written")
    items = {i.text: i.id for p in marking.rubric_of(engine, queue.id) for i in p.items}
    tasks = {t.student_id: t for t in queues.tasks(course, engine, queue)}
    marking.submit_grade(course, engine, queue, tasks["s1"], "ta@uni.de",
                         {items[ITEM_NAMES], items[ITEM_SHIFT]}, -0.5, COMMENT)
    marking.submit_grade(course, engine, queue, tasks["s2"], "ta@uni.de", set(), 0.0, "")
    return web


# --- one template -----------------------------------------------------------------------

def test_the_static_page_and_the_web_fragment_come_from_one_template(marked):
    from app.web.pages import templates

    course, engine = marked.course, marked.engine
    publish_written(engine, "tiny")
    view = result_view(course, "s1", "tiny", _result(), NOW, published=False,
                       written=written_view(course, engine, "s1", "tiny"))
    page = render_feedback_page(view)
    fragment = templates.env.get_template("feedback/results.html").render(
        feedback_context(view))
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script" not in page
    assert "<html" not in fragment and "<style" not in fragment
    assert fragment in page  # the web app's environment renders the very same markup
    text = _text(fragment)
    assert text == _text(page)[1:]  # the page adds only its <h1> (the module title)
    assert _text(page)[0] == "Tiny numpy module"
    assert "Score so far: 3 / 6 points" in text  # test_later not shown, hidden counted
    assert "hidden tests: 1 / 1 points" in text and "1 test is shown once the results " \
        "are published." in text
    for hidden in ("test_secret", "the secret message", "test_later", "Score: 99"):
        assert hidden not in page
    # the student's text: escaped, under the label, in <pre class="student-text">
    assert "your code's message:" in text
    assert '<pre class="student-text">ValueError: &lt;oops&gt; from &#39;student&#39;</pre>' \
        in page
    assert "<oops>" not in page


def test_a_view_is_frozen_data(marked):
    view = feedback_view(marked.course, marked.engine, "s1", "tiny", now=NOW)
    assert isinstance(view, FeedbackView) and view.state == "pending" and view.attempt == 1
    with pytest.raises(AttributeError):
        view.score = 10  # type: ignore[misc]
    none = feedback_view(marked.course, marked.engine, "s3", "tiny", now=NOW)
    assert none.state == "none" and "No submission yet" in render_feedback_page(none)


# --- written scores -----------------------------------------------------------------------

def test_written_scores_show_only_after_publication_and_never_the_grader_notes(marked,
                                                                                tmp_path):
    course, engine = marked.course, marked.engine
    before = feedback_view(course, engine, "s1", "tiny", now=NOW)
    assert before.written is not None and not before.written.published
    assert before.written.questions == () and before.written.total is None
    page = render_feedback_page(before)
    assert "Written answers: not published yet" in page
    assert ITEM_NAMES not in page and "section 2" not in page
    assert not is_published_written(engine, "tiny")

    assert publish_written(engine, "tiny", by=BOSS) is True
    assert publish_written(engine, "tiny", by=BOSS) is False  # idempotent
    assert is_published_written(engine, "tiny")
    with Session(engine) as session:
        (entry,) = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "publish_written")).all()
        assert (entry.actor, entry.entity) == (BOSS, "module tiny")
        assert session.get(Publication, ("written", "tiny")).published_by == BOSS

    after = feedback_view(course, engine, "s1", "tiny", now=NOW)
    (question,) = after.written.questions
    assert question.title == "Tiny numpy module · written_max"
    assert (question.points, question.max_points, question.adjustment) == (1.5, 2.0, -0.5)
    assert question.items == (ITEM_NAMES, ITEM_SHIFT) and question.comment == COMMENT
    assert (after.written.total, after.written.max_total) == (1.5, 2.0)
    pages = write_feedback(course, engine, "tiny", tmp_path / "fb", now=NOW,
                           render=render_feedback_page)
    assert sorted(p.name for p in pages.pending) == ["s1.html", "s2.html"]
    page = (tmp_path / "fb" / "s1.html").read_text()
    assert "Written answers: 1.5 / 2 points" in page and "not published yet" not in page
    assert ITEM_NAMES in page and ITEM_SHIFT in page and "Adjustment: -0.5 points" in page
    assert "Good, but see &lt;b&gt;section 2&lt;/b&gt; &amp; the notes." in page
    assert NOTE_SHIFT not in page and ITEM_UNUSED not in page and "ta@uni.de" not in page
    other = (tmp_path / "fb" / "s2.html").read_text()
    assert "Written answers: 0 / 2 points" in other and "section 2" not in other
    assert ITEM_NAMES not in other


# --- final grades ---------------------------------------------------------------------------

def test_the_final_grade_shows_only_after_publication(marked):
    course, engine = marked.course, marked.engine
    assert final_view(course, engine, "s1") is None and not is_published_final(engine)
    assert feedback_view(course, engine, "s1", "tiny", now=NOW).final is None
    assert "Final grade" not in render_feedback_page(
        feedback_view(course, engine, "s1", "tiny", now=NOW))

    assert publish_final(engine, by=BOSS) is True
    assert publish_final(engine) is False
    with Session(engine) as session:
        (entry,) = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "publish_final")).all()
        assert entry.actor == BOSS
    table = gradebook_view(course, engine).table  # the numbers of `course final`
    final = final_view(course, engine, "s1")
    assert final is not None and final.percent == pytest.approx(float(table.loc["s1", "final"]))
    grade = table.loc["s1", "grade"]
    assert final.grade == (grade if isinstance(grade, str) else "")
    page = render_feedback_page(feedback_view(course, engine, "s1", "tiny", now=NOW))
    assert f"Final grade: {final.percent:.1f}%" in page
    assert final_view(course, engine, "nobody") is None


# --- course publish ---------------------------------------------------------------------------

def test_course_publish_written_and_final(marked, course_cli):
    config = marked.course.root / "course_config.py"
    result = course_cli(config, "publish", "tiny", "--written")
    assert result.exit_code == 0 and "tiny: written scores published" in result.output
    again = course_cli(config, "publish", "tiny", "--written")
    assert again.exit_code == 0 and "already published" in again.output
    assert is_published_written(marked.engine, "tiny")

    result = course_cli(config, "publish", "--final")
    assert result.exit_code == 0 and "final grades: published" in result.output
    assert is_published_final(marked.engine)
    assert "already published" in course_cli(config, "publish", "--final").output

    result = course_cli(config, "feedback", "tiny", "--out", str(config.parent / "fb"))
    assert result.exit_code == 0 and "written scores published" in result.output
    assert "Final grade:" in (config.parent / "fb" / "s1.html").read_text()


@pytest.mark.parametrize("args, message", [
    ([], "name what to publish"),
    (["--written"], "name what to publish"),
    (["tiny", "--final"], "leave out the module 'tiny'"),
    (["--final", "--written"], "two publications"),
    (["tiny", "--final", "--written"], "two publications"),
    (["nosuch", "--written"], "nosuch"),
])
def test_course_publish_refuses_bad_combinations_in_one_line(web, course_cli, args, message):
    result = course_cli(web.course.root / "course_config.py", "publish", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) <= 2  # one line (soft-wrapped at most)
    assert not is_published_final(web.engine) and not is_published_written(web.engine, "tiny")


# --- staff buttons ------------------------------------------------------------------------------

def test_the_instructor_publishes_written_scores_and_final_grades_from_the_pages(web):
    boss = web.signed_in("instructor", BOSS)
    stats = boss.get("/gradebook/modules/tiny/stats").text
    assert 'action="/gradebook/modules/tiny/publish-written"' in stats
    assert "Written scores are <strong>not published</strong>" in stats
    index = boss.get("/gradebook").text
    assert 'action="/gradebook/publish-final"' in index
    assert "Final grades are <strong>not published</strong>" in index
    token = csrf(boss, "/gradebook")

    answer = boss.post("/gradebook/modules/tiny/publish-written", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/gradebook/modules/tiny/stats?done=publish-written"
    again = boss.post("/gradebook/modules/tiny/publish-written", data={"csrf_token": token})
    assert again.headers["location"].endswith("done=published-written")
    page = boss.get(answer.headers["location"]).text
    assert "The written scores are published." in page
    assert "Written scores are <strong>published</strong>" in page
    assert 'action="/gradebook/modules/tiny/publish-written"' not in page

    answer = boss.post("/gradebook/publish-final", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == \
        "/gradebook?done=publish-final"
    page = boss.get(answer.headers["location"]).text
    assert "The final grades are published." in page
    assert "Final grades are <strong>published</strong>" in page
    assert 'action="/gradebook/publish-final"' not in page
    with Session(web.engine) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ["publish_written", "publish_final"])).order_by(AuditEntry.id)).all()
        assert [(e.action, e.actor) for e in entries] == [("publish_written", BOSS),
                                                          ("publish_final", BOSS)]
    assert boss.post("/gradebook/modules/nope/publish-written",
                     data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("path", ["/gradebook/modules/tiny/publish-written",
                                  "/gradebook/publish-final"])
def test_a_teaching_assistant_may_not_publish_and_the_token_is_required(web, path):
    ta = web.signed_in("ta")
    assert ta.post(path, data={"csrf_token": csrf(ta, "/gradebook")}).status_code == 403
    assert 'action="/gradebook/publish-final"' not in ta.get("/gradebook").text
    assert "publish-written" not in ta.get("/gradebook/modules/tiny/stats").text
    boss = web.signed_in("instructor", BOSS)
    assert boss.post(path, data={}).status_code == 403  # no CSRF token
    assert not is_published_written(web.engine, "tiny") and not is_published_final(web.engine)
