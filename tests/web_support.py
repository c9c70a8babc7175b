"""Helpers for the web app's tests: an app on the tiny course, accounts, signed-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.web.main import create_app
from app.web.settings import WebSettings
from autograder.config import Course
from gradebook.users import add_user, set_password_with_token

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class Web:
    course: Course
    engine: Engine
    settings: WebSettings

    def app(self):
        return create_app(self.course, self.engine, self.settings)

    def client(self) -> TestClient:
        """An anonymous client (cookies kept between its requests); no redirects followed."""
        return TestClient(self.app(), follow_redirects=False)

    def account(self, email: str, role: str, student_id: str | None = None) -> str:
        """An account with PASSWORD set; returns its email."""
        _, token = add_user(self.engine, email, role, student_id=student_id)
        set_password_with_token(self.engine, token, PASSWORD)
        return email

    def signed_in(self, role: str, email: str | None = None) -> TestClient:
        """A client signed in as a new account of `role` (a student is roster student s1)."""
        email = email or f"{role}@uni.de"
        self.account(email, role, "s1" if role == "student" else None)
        client = self.client()
        login(client, email)
        return client


def csrf(client: TestClient, page: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's meta tag."""
    found = _CSRF.search(client.get(page).text)
    assert found, f"no csrf meta tag on {page}"
    return found.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD):
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf(client)})
    assert response.status_code == 303, response.text
    return response


def hand_in(course: Course, engine: Engine, answers: dict[str, str | None],
            folder_name: str = "batch") -> None:
    """Collect a notebook per student: the tiny master with `written_max` answered by the
    given text (None: the student deleted the cell)."""
    import json

    from gradebook.collect import collect

    master = course.root / "solutions" / "tiny" / "tiny.ipynb"
    folder = course.root / folder_name
    folder.mkdir(exist_ok=True)
    for sid, answer in answers.items():
        nb = json.loads(master.read_text())
        cells = []
        for cell in nb["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "written_max":
                if answer is None:
                    continue
                cell = dict(cell, source=answer)
            cells.append(cell)
        nb["cells"] = cells
        (folder / f"{sid}.ipynb").write_text(json.dumps(nb))
    report = collect(engine, "tiny", folder)
    assert len(report.stored) + len(report.unchanged) == len(answers), report
    # handed in on time: a day before the due date (collect records the collection time)
    from datetime import datetime, time, timedelta

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from gradebook.models import Submission

    on_time = datetime.combine(course.due_date("tiny") - timedelta(days=1), time(12, 0),
                               tzinfo=course.tz)
    with Session(engine) as session, session.begin():
        session.execute(update(Submission).where(Submission.student_id.in_(list(answers)))
                        .values(submitted_at=on_time, time_source="lms"))


# A rubric for the tiny course's one written question (2 points) and its module report.
TINY_RUBRIC = """
[[question]]
id = "written_max"
points = 2

[[question.part]]
name = "Overflow"
max_points = 1

[[question.part.item]]
points = 1
fixed = true
text = "Names overflow of exp for large inputs."

[[question.part.item]]
points = 0.5
text = "Mentions large numbers, not overflow."

[[question.part]]
name = "Invariance"
max_points = 1

[[question.part.item]]
points = 1
text = "Softmax does not change when a constant is subtracted."
note = "Accept shift invariance stated in words."

[[question.part.item]]
points = -0.5
text = "Claims the result changes."

[[question]]
id = "module_report"
points = 10

[[question.part]]
name = "Report"
max_points = 10

[[question.part.item]]
points = 10
fixed = true
text = "Complete and clear."

[[question.part.item]]
points = 5
fixed = true
text = "Half done."
"""


def write_tiny_rubric(course: Course) -> None:
    (course.root / "solutions" / "tiny" / "rubric.toml").write_text(TINY_RUBRIC)


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a thread, for a browser."""

    def __init__(self, app) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def race_for_next(course: Course, engine: Engine, queue, graders: list[str]) -> dict:
    """Every grader asks for "next ungraded" at the same moment (one thread each);
    grader -> the task they got (or None)."""
    import threading

    from gradebook import queues

    got: dict = {}
    barrier = threading.Barrier(len(graders))

    def grab(name: str) -> None:
        barrier.wait()
        got[name] = queues.next_ungraded(course, engine, queue, name)

    threads = [threading.Thread(target=grab, args=(name,)) for name in graders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return got
