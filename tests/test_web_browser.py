"""The staff pages in a real browser (Debian's Chromium driven by Playwright).

- A TA grades a question with the keyboard only, from the first answer to the last; the
  gradebook page then shows the final grades `course final` computes.
- Editing a rubric item on the queue page re-scores the answers it was applied to.
- Answers full of XSS payloads stay inert: no dialog, no script-set flag, no javascript:
  link, while the page's own scripts run (KaTeX typesets the math).

Screenshots go to `build/screenshots/` (or $SCREENSHOTS_DIR); `make screenshots` copies
the grading page, the gradebook and a student page into `docs/screenshots/`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import PASSWORD, LiveServer, hand_in, write_tiny_rubric

from gradebook import marking, queues
from gradebook.models import ManualScore

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parent.parent
                            / "build" / "screenshots"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's chromium is not installed (`make test` installs it)"),
]

XSS = [
    '<script>window.__xss = "script"</script>',
    '<img src=x onerror="window.__xss = \'img\'">',
    '[click](javascript:window.__xss="link")',
    '<a href="javascript:alert(1)">a</a> <svg onload="window.__xss=\'svg\'"></svg>',
    '$\\href{javascript:window.__xss="katex"}{x}$ and $\\htmlId{x}{y}$',
    '<iframe src="javascript:alert(1)"></iframe><style>body{display:none}</style>',
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": CHROMIUM_FLAGS}


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/grading")


@pytest.fixture
def served(web):
    write_tiny_rubric(web.course)
    hand_in(web.course, web.engine, {
        "s1": "Overflow: $\\exp(x)$ for $x = 1000$ is **inf**, and\n\n$$\\frac{e^{x_i}}"
              "{\\sum_j e^{x_j}}$$\n\ndoes not change when $\\max_j x_j$ is subtracted.",
        "s2": "Large numbers.\n\n```python\nnp.exp(1000)  # inf\n```",
        "s3": "It is faster.",
    })
    queues.sync_queues(web.course, web.engine)
    web.account("ta@uni.de", "ta")
    with LiveServer(web.app()) as server:
        yield web, server


def _written(engine) -> dict[str, float]:
    with Session(engine) as session:
        rows = session.scalars(select(ManualScore).where(ManualScore.component == "written")
                               .order_by(ManualScore.id)).all()
    return {r.student_id: r.points for r in rows}


def _queue_id(web) -> int:
    return next(q.id for q in queues.queues(web.engine) if q.component == "written")


def test_a_ta_grades_a_question_with_the_keyboard_and_the_gradebook_agrees(
        served, page, course_cli, tiny_course, tmp_path):
    web, server = served
    qid = _queue_id(web)
    sign_in(page, server.url, "ta@uni.de")
    page.goto(f"{server.url}/grading/{qid}")
    page.keyboard.press("n")  # "Grade next"
    # each answer: the items by number key, a comment, then submit and next
    plans = [("1", "3"), ("2",), ("4",)]
    for keys in plans:
        page.wait_for_url("**/answers/*")
        for key in keys:
            page.keyboard.press(key)
        page.keyboard.press("c")
        page.keyboard.type("Thanks.")
        page.keyboard.press("Escape")
        with page.expect_navigation():
            page.keyboard.press("n")
    page.wait_for_url(f"**/grading/{qid}?done=all")
    assert "3 / 3" in page.inner_text("main")
    assert sorted(_written(web.engine).values()) == [0.0, 0.5, 2.0]
    s1 = next(t for t in queues.tasks(web.course, web.engine, queues.get_queue(web.engine, qid))
              if t.student_id == "s1")
    page.goto(f"{server.url}/grading/{qid}/answers/{s1.handle}")
    page.wait_for_selector(".math.inline[data-typeset='1'] .katex")
    shot(page, "grading")

    out = tmp_path / "final.csv"
    result = course_cli(tiny_course / "course_config.py", "final", "--csv", str(out))
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        final = {row["student_id"]: float(row["final"]) for row in csv.DictReader(fh)}
    page.goto(f"{server.url}/gradebook")
    shown = page.eval_on_selector_all(
        "tr[data-search]", "rows => rows.map(r => [r.querySelector('[data-col=student_id]')"
        ".innerText.trim(), parseFloat(r.querySelector('[data-col=final]').dataset.value)])")
    assert dict(shown) == pytest.approx(final)
    assert sorted(final.values())[-1] > 0  # the written points count
    shot(page, "gradebook")
    page.goto(f"{server.url}/gradebook/students/s1")
    assert "Ada Lovelace" in page.inner_text("main")
    shot(page, "student")


def test_editing_a_rubric_item_rescores_its_answers(served, page):
    web, server = served
    qid = _queue_id(web)
    queue = queues.get_queue(web.engine, qid)
    mentions = next(i for p in marking.rubric_of(web.engine, qid) for i in p.items
                    if i.text.startswith("Mentions"))
    for task in queues.tasks(web.course, web.engine, queue)[:2]:
        marking.submit_grade(web.course, web.engine, queue, task, "ta@uni.de", {mentions.id},
                             0.0, "")
    assert sorted(_written(web.engine).values()) == [0.5, 0.5]
    sign_in(page, server.url, "ta@uni.de")
    page.goto(f"{server.url}/grading/{qid}")
    row = page.locator(f"tr.rubric-item[data-item='{mentions.id}']")
    row.locator("input[name=points]").fill("0.75")
    with page.expect_navigation():
        row.locator("button", has_text="Save item").click()
    assert "2 answer(s) re-scored" in page.inner_text("main")
    assert sorted(_written(web.engine).values()) == [0.75, 0.75]
    points = page.eval_on_selector_all("#answers tbody tr td.num", "cells => cells.map("
                                       "c => c.innerText.trim()).filter(t => t)")
    assert sorted(points) == ["0.75", "0.75"]


def test_xss_payloads_in_answers_stay_inert(web, page):
    write_tiny_rubric(web.course)
    hand_in(web.course, web.engine, {"s1": "\n\n".join(XSS), "s2": XSS[1], "s3": XSS[4]})
    queues.sync_queues(web.course, web.engine)
    web.account("ta@uni.de", "ta")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with LiveServer(web.app()) as server:
        sign_in(page, server.url, "ta@uni.de")
        qid = _queue_id(web)
        queue = queues.get_queue(web.engine, qid)
        for task in queues.tasks(web.course, web.engine, queue):
            page.goto(f"{server.url}/grading/{qid}/answers/{task.handle}")
            page.wait_for_load_state("load")
            page.wait_for_function("() => typeof window.fdlTypeset === 'function'")
            assert page.evaluate("() => window.__xss") is None
            assert page.locator("#answer script, #answer img, #answer iframe, #answer svg,"
                                " #answer style").count() == 0
            assert page.locator("a[href^='javascript' i]").count() == 0
            assert page.locator("#answer [onerror], #answer [onload]").count() == 0
            assert page.locator("body").is_visible()
            if task.student_id == "s1":
                page.wait_for_selector("#answer .math[data-typeset='1']")
                shot(page, "xss")
    assert dialogs == []



# --- the student's whole path -------------------------------------------------------------

def _open_tiny(web):
    """The web fixture's course with the tiny module open now (released this week), its
    stub generated and its bundle released, as `course assign` and `course release` do."""
    import dataclasses
    from datetime import date, datetime, timedelta, timezone

    from autograder.assign import assign
    from autograder.layout import module_layout
    from autograder.release.bundle import release
    from gradebook.portal import dist_folder

    today = date.today()
    course = dataclasses.replace(web.course, term_start=today - timedelta(days=today.weekday()))
    assign(module_layout(course, "tiny"), title=course.module("tiny").title)
    release(course, "tiny", dist_folder(course), datetime.now(timezone.utc))
    return dataclasses.replace(web, course=course)


def _upload_and_grade(page, web, notebook, shoot: str | None = None) -> None:
    """Upload through the form, start a worker, and wait (no reload: the page polls)
    until the attempt is graded."""
    import threading

    from app.worker import run_worker

    page.set_input_files("input[name=notebook]", str(notebook))
    with page.expect_navigation():
        page.click("#upload-form button[type=submit]")
    assert "is stored and queued for grading" in page.inner_text("main")
    assert page.locator("tr.attempt[data-state='queued']").count() == 1
    if shoot:
        shot(page, shoot)
    worker = threading.Thread(target=run_worker, args=(web.course, web.engine),
                              kwargs={"workers": 1, "once": True, "note": lambda _: None})
    worker.start()
    page.wait_for_selector("tr.attempt[data-state='queued'], tr.attempt[data-state='grading']",
                           state="detached", timeout=90_000)
    worker.join(60)
    assert not worker.is_alive()


def test_a_student_from_invitation_to_published_written_scores(web, page, tmp_path):
    from gradebook.feedback import publish_written
    from gradebook.users import invite_students

    web = _open_tiny(web)
    write_tiny_rubric(web.course)
    invitation = invite_students(web.engine, ["s1"])[0][0]
    with LiveServer(web.app()) as server:
        # the invitation link: set a password, then the assignments page
        page.goto(f"{server.url}/set-password#token={invitation.token}")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=confirm]", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Your assignments" in page.inner_text("main")
        page.click("text=Tiny numpy module")
        page.wait_for_url("**/modules/tiny")
        with page.expect_download() as download:
            page.click("text=Download the assignment")
        bundle = tmp_path / download.value.suggested_filename
        download.value.save_as(bundle)
        assert bundle.stat().st_size > 1000
        # first what a newcomer hands in: the assignment's notebook from assignments/
        stub = web.course.root / "assignments" / "tiny" / "tiny.ipynb"
        _upload_and_grade(page, web, stub)
        page.wait_for_selector(".feedback-results .score")
        assert "Score: 0 / 10 points" in page.inner_text("#results")
        # then a complete solution (the master) as attempt 2
        notebook = tmp_path / "tiny.ipynb"
        notebook.write_bytes((web.course.root / "solutions" / "tiny" / "tiny.ipynb")
                             .read_bytes())
        _upload_and_grade(page, web, notebook, shoot="portal-queued")
        assert page.locator("tr.attempt").count() == 2
        results = page.inner_text("#results")
        assert "Score: 10 / 10 points" in results
        assert "Written answers: not published yet" in results
        shot(page, "portal-results")
        # staff grade the written answer and the instructor publishes it
        queues.sync_queues(web.course, web.engine)
        queue = next(q for q in queues.queues(web.engine) if q.component == "written")
        task = queues.tasks(web.course, web.engine, queue)[0]
        names = next(i for p in marking.rubric_of(web.engine, queue.id) for i in p.items
                     if i.text.startswith("Names"))
        marking.submit_grade(web.course, web.engine, queue, task, "ta@uni.de", {names.id}, 0.0,
                             "Well put.")
        publish_written(web.engine, "tiny", by="prof@uni.de")
        page.reload()
        written = page.inner_text("#results")
        assert "Names overflow of exp for large inputs." in written and "Well put." in written
        assert "Accept shift invariance" not in written  # a grader's note never shows
        shot(page, "portal-written")
