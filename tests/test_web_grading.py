"""The grading pages: queues, the answer page, keyboard-free actions, rubric edits, roles."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import csrf, hand_in, write_tiny_rubric

from gradebook import marking, queues
from gradebook.models import AuditEntry, ManualScore
from gradebook.rubric import parse_rubric

XSS = ('<script>alert(1)</script> <img src=x onerror=alert(2)> [link](javascript:alert(3)) '
       '$\\href{javascript:alert(4)}{x}$')


@pytest.fixture
def grading(web):
    write_tiny_rubric(web.course)
    hand_in(web.course, web.engine, {"s1": "Overflow: $e^{1000}$ is **inf**.", "s2": XSS})
    queues.sync_queues(web.course, web.engine)
    return web


def _queue_id(web, component="written"):
    return next(q.id for q in queues.queues(web.engine) if q.component == component)


def _handle(web, qid, student):
    queue = queues.get_queue(web.engine, qid)
    return next(t.handle for t in queues.tasks(web.course, web.engine, queue)
                if t.student_id == student)


def _item_ids(web, qid):
    return {i.text.split()[0]: i.id for p in marking.rubric_of(web.engine, qid) for i in p.items}


def _written_points(web, student):
    with Session(web.engine) as session:
        rows = session.scalars(select(ManualScore.points).where(
            ManualScore.student_id == student, ManualScore.component == "written")
            .order_by(ManualScore.id)).all()
    return rows[-1] if rows else None


def test_roles_on_the_grading_pages(grading):
    qid = _queue_id(grading)
    handle = _handle(grading, qid, "s1")
    pages = ["/grading", f"/grading/{qid}", f"/grading/{qid}/answers/{handle}",
             f"/grading/{qid}/rubric.toml"]
    anonymous = grading.client()
    for page in pages:
        r = anonymous.get(page)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), page
    student = grading.signed_in("student")
    for page in pages:
        assert student.get(page).status_code == 403, page
    token = csrf(student, "/")
    assert student.post(f"/grading/{qid}/next", data={"csrf_token": token}).status_code == 403
    ta = grading.signed_in("ta")
    for page in pages:
        assert ta.get(page).status_code == 200, page
    r = ta.post(f"/grading/{qid}/anonymous", data={"on": "1", "csrf_token": csrf(ta, "/grading")})
    assert r.status_code == 403  # only the instructor switches anonymous mode
    assert anonymous.post(f"/grading/{qid}/next").status_code in (401, 403)


def test_a_post_without_the_csrf_token_is_refused(grading):
    qid = _queue_id(grading)
    ta = grading.signed_in("ta")
    r = ta.post(f"/grading/{qid}/next")
    assert r.status_code == 403 and "reload the page" in r.text


def test_next_submit_and_next_until_done(grading):
    qid = _queue_id(grading)
    items = _item_ids(grading, qid)
    ta = grading.signed_in("ta")
    token = csrf(ta, "/grading")
    page = ta.get("/grading")
    assert "tiny" in page.text.lower() and "0 / 2" in page.text
    r = ta.post(f"/grading/{qid}/next", data={"csrf_token": token})
    assert r.status_code == 303
    first = r.headers["location"]
    answer = ta.get(first)
    assert answer.status_code == 200
    assert "Why subtract the maximum in softmax?" in answer.text  # the question
    assert "For numerical stability" in answer.text  # the model answer (staff only)
    seen = {first}
    r = ta.post(first, data={"item": [str(items["Names"]), str(items["Softmax"])],
                             "adjustment": "", "comment": "Well argued.", "then": "next",
                             "csrf_token": token})
    assert r.status_code == 303
    second = r.headers["location"]
    assert second not in seen and "/answers/" in second
    r = ta.post(second, data={"item": [str(items["Mentions"])], "adjustment": "0,25",
                              "comment": "", "then": "next", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/grading/{qid}?done=all"
    done = ta.get(r.headers["location"])
    assert "Nothing left for you to grade" in done.text and "2 / 2" in done.text
    assert sorted([_written_points(grading, "s1"), _written_points(grading, "s2")]) == [0.75, 2.0]


def test_the_answer_renders_markdown_and_math_and_the_payloads_stay_inert(grading):
    qid = _queue_id(grading)
    ta = grading.signed_in("ta")
    good = ta.get(f"/grading/{qid}/answers/{_handle(grading, qid, 's1')}").text
    assert "<strong>inf</strong>" in good
    assert re.search(r'<span class="math inline">e\^\{1000\}</span>', good)
    bad = ta.get(f"/grading/{qid}/answers/{_handle(grading, qid, 's2')}").text
    answer = bad.split('id="answer">', 1)[1].split("</section>", 1)[0]
    tags = _Tags()
    tags.feed(answer)
    assert not {"script", "img", "iframe", "svg"} & {t for t, _ in tags.found}
    assert not [a for _, attrs in tags.found for a, v in attrs
                if a.startswith("on") or (a == "href" and "javascript" in (v or "").lower())]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer  # shown as text
    # the page itself loads scripts only from /static/ (and has no inline script)
    page = _Tags()
    page.feed(bad)
    scripts = [dict(attrs).get("src") for tag, attrs in page.found if tag == "script"]
    assert scripts and all(src and src.startswith("/static/") for src in scripts)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def test_bad_values_get_a_message_and_a_4xx(grading):
    qid = _queue_id(grading)
    handle = _handle(grading, qid, "s1")
    ta = grading.signed_in("ta")
    token = csrf(ta, "/grading")
    url = f"/grading/{qid}/answers/{handle}"
    cases = [({"adjustment": "lots"}, 400, "is not a number"),
             ({"adjustment": "9"}, 400, "adjustment must be a number from -2 to 2"),
             ({"item": ["999999"]}, 400, "not in this question"),
             ({"item": ["x"]}, 422, "item"),
             ({"comment": "x" * (marking.MAX_COMMENT + 2)}, 422, "comment")]
    for data, status, message in cases:
        r = ta.post(url, data={"csrf_token": token, **data})
        assert r.status_code == status, (data, r.text[:300])
        assert message in r.text, data
    assert ta.get(f"/grading/{qid}/answers/nosuchhandle").status_code == 404
    assert ta.get("/grading/999999").status_code == 404
    assert ta.post("/grading/999999/next", data={"csrf_token": token}).status_code == 404
    r = ta.post(f"/grading/{qid}/items", data={"csrf_token": token, "part_id": "999999",
                                               "points": "1", "text": "x"})
    assert r.status_code == 404
    r = ta.post(f"/grading/{qid}/items", data={
        "csrf_token": token, "part_id": str(marking.rubric_of(grading.engine, qid)[0].id),
        "points": "1", "text": "  "})
    assert r.status_code == 400 and "needs a description" in r.text
    assert _written_points(grading, "s1") is None


def test_two_tas_get_different_answers_and_a_held_answer_cannot_be_submitted(grading):
    qid = _queue_id(grading)
    ta1 = grading.signed_in("ta", "ta1@uni.de")
    ta2 = grading.signed_in("ta", "ta2@uni.de")
    t1, t2 = csrf(ta1, "/grading"), csrf(ta2, "/grading")
    a = ta1.post(f"/grading/{qid}/next", data={"csrf_token": t1}).headers["location"]
    b = ta2.post(f"/grading/{qid}/next", data={"csrf_token": t2}).headers["location"]
    assert a != b and "/answers/" in a and "/answers/" in b
    page = ta2.get(a)
    assert "ta1@uni.de is grading this answer" in page.text
    r = ta2.post(a, data={"csrf_token": t2, "adjustment": "1"})
    assert r.status_code == 409 and "ta1@uni.de is grading" in r.text


def test_anonymous_mode_hides_names_in_pages_titles_and_urls(grading):
    qid = _queue_id(grading)
    prof = grading.signed_in("instructor")
    token = csrf(prof, "/grading")
    assert "Ada Lovelace" in prof.get(f"/grading/{qid}").text
    assert prof.post(f"/grading/{qid}/anonymous", data={"on": "1", "csrf_token": token}
                     ).status_code == 303
    listing = prof.get(f"/grading/{qid}").text
    answer_url = prof.post(f"/grading/{qid}/next", data={"csrf_token": token}
                           ).headers["location"]
    answer = prof.get(answer_url).text
    title = re.search(r"<title>(.*?)</title>", answer).group(1)
    for text in (listing, answer, answer_url, title):
        for secret in ("Ada Lovelace", "Alan Turing", "s1", "s2"):
            assert secret not in text.replace("tiny", ""), (secret, text[:200])
    assert "Answer 1 of 2" in listing


def test_editing_an_item_on_the_page_rescores_and_is_audited(grading):
    qid = _queue_id(grading)
    items = _item_ids(grading, qid)
    ta = grading.signed_in("ta", "ta@uni.de")
    token = csrf(ta, "/grading")
    url = f"/grading/{qid}/answers/{_handle(grading, qid, 's1')}"
    ta.post(url, data={"csrf_token": token, "item": [str(items["Mentions"])], "then": "stay"})
    assert _written_points(grading, "s1") == 0.5
    r = ta.post(f"/grading/{qid}/items/{items['Mentions']}",
                data={"csrf_token": token, "points": "0.75", "text": "Mentions large numbers.",
                      "note": ""})
    assert r.status_code == 303 and r.headers["location"].endswith("done=rescored-1")
    assert _written_points(grading, "s1") == 0.75
    with Session(grading.engine) as session:
        actors = {e.actor for e in session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["rubric_item", "answer_rescore"])))}
    assert actors == {"ta@uni.de"}
    exported = ta.get(f"/grading/{qid}/rubric.toml")
    assert exported.headers["content-disposition"].endswith('tiny-rubric.toml"')
    rubric = parse_rubric(exported.text, "export")
    texts = [i.text for p in rubric.question("written_max").parts for i in p.items]
    assert "Mentions large numbers." in texts


def test_skip_flag_and_comment_bank(grading):
    qid = _queue_id(grading)
    ta = grading.signed_in("ta")
    token = csrf(ta, "/grading")
    first = ta.post(f"/grading/{qid}/next", data={"csrf_token": token}).headers["location"]
    second = ta.post(first + "/skip", data={"csrf_token": token}).headers["location"]
    assert second != first and "/answers/" in second
    r = ta.post(second + "/flag", data={"csrf_token": token, "note": "copied?"})
    assert r.status_code == 303
    assert "Flagged for the instructor: copied?" in ta.get(second).text
    assert ta.post(second + "/unflag", data={"csrf_token": token}).status_code == 403
    prof = grading.signed_in("instructor")
    assert prof.post(second + "/unflag", data={"csrf_token": csrf(prof, "/grading")}
                     ).status_code == 303
    r = ta.post(f"/grading/{qid}/comments", data={"csrf_token": token, "text": "See lecture 3.",
                                                  "back": second})
    assert r.status_code == 303 and r.headers["location"] == second
    assert 'data-text="See lecture 3."' in ta.get(second).text
    r = ta.post(f"/grading/{qid}/comments", data={"csrf_token": token, "text": "x",
                                                  "back": "https://evil.example/"})
    assert r.headers["location"] == f"/grading/{qid}"  # never an outside redirect


def test_the_student_page_lists_the_grades_by_question(grading):
    qid = _queue_id(grading)
    items = _item_ids(grading, qid)
    ta = grading.signed_in("ta", "ta@uni.de")
    token = csrf(ta, "/grading")
    ta.post(f"/grading/{qid}/answers/{_handle(grading, qid, 's1')}",
            data={"csrf_token": token, "item": [str(items["Names"])], "adjustment": "0.5",
                  "comment": "Say why <it> overflows.", "then": "stay"})
    page = ta.get("/gradebook/students/s1").text
    table = page.split('id="by-question"', 1)[1].split("</table>", 1)[0]
    assert "written_max" in table and "1.5 / 2" in table
    assert "Names overflow of exp for large inputs." in table and "adjustment +0.5" in table
    assert "Say why &lt;it&gt; overflows." in table and "ta@uni.de" in table
    assert "Nothing graded in the browser yet." in ta.get("/gradebook/students/s3").text
