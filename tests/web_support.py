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
