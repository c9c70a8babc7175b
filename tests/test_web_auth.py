"""Accounts, sign-in, sessions, CSRF, the rate limit, security headers, the secret file."""

from __future__ import annotations

import os
import re
import stat
from datetime import timedelta

import pytest
from web_support import PASSWORD, csrf, login

from app.web.security import CONTENT_SECURITY_POLICY, LoginLimiter
from app.web.settings import load_secret, secret_path
from autograder.core.errors import UserError
from gradebook.users import (TokenProblem, add_user, authenticate, reset_link,
                             set_password_with_token)


def test_a_one_time_link_sets_the_password_once(web):
    found, token = add_user(web.engine, "TA@Uni.de", "ta")
    assert found.email == "ta@uni.de" and authenticate(web.engine, "ta@uni.de", PASSWORD) is None
    client = web.client()
    page = client.get("/set-password")
    assert page.status_code == 200 and 'id="token"' in page.text
    answer = client.post("/set-password", data={"token": token, "password": PASSWORD,
                                                "confirm": PASSWORD, "csrf_token": csrf(client)})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).headers["location"] == "/grading"
    again = web.client()
    reused = again.post("/set-password", data={"token": token, "password": "another password",
                                               "confirm": "another password",
                                               "csrf_token": csrf(again)})
    assert reused.status_code == 410 and "used already" in reused.text
    assert authenticate(web.engine, "ta@uni.de", PASSWORD) is not None


def test_link_problems_each_get_their_own_message(web):
    _, token = add_user(web.engine, "ta@uni.de", "ta", ttl=timedelta(seconds=-1))
    with pytest.raises(TokenProblem, match="expired"):
        set_password_with_token(web.engine, token, PASSWORD)
    newer = reset_link(web.engine, "ta@uni.de")
    with pytest.raises(TokenProblem, match="used already .or replaced"):
        set_password_with_token(web.engine, token, PASSWORD)  # replaced by the newer link
    with pytest.raises(TokenProblem, match="not valid"):
        set_password_with_token(web.engine, "no-such-token", PASSWORD)
    with pytest.raises(UserError, match="at least 10"):
        set_password_with_token(web.engine, newer, "short")
    assert set_password_with_token(web.engine, newer, PASSWORD).email == "ta@uni.de"


def test_tokens_and_passwords_are_stored_hashed(web):
    from sqlalchemy import text

    _, token = add_user(web.engine, "ta@uni.de", "ta")
    set_password_with_token(web.engine, token, PASSWORD)
    with web.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text(
            "SELECT u.password_hash, t.token_sha256 FROM users u JOIN user_tokens t "
            "ON t.user_id = u.id")) for v in row)
    assert token not in dump and PASSWORD not in dump and "$argon2id$" in dump


@pytest.mark.parametrize("email, role, message", [
    ("not-an-email", "ta", "not an email address"),
    ("ta@uni.de", "admin", "unknown role"),
])
def test_bad_accounts_are_refused(web, email, role, message):
    with pytest.raises(UserError, match=message):
        add_user(web.engine, email, role)


def test_a_second_account_for_an_email_is_refused(web):
    add_user(web.engine, "ta@uni.de", "ta")
    with pytest.raises(UserError, match="exists already; `course users reset"):
        add_user(web.engine, "TA@uni.de ", "instructor")


def test_sign_in_starts_a_new_session_and_sign_out_revokes_old_cookies(web):
    web.account("ta@uni.de", "ta")
    client = web.client()
    before = csrf(client)
    login(client, "ta@uni.de")
    after = csrf(client, "/no-such-page")  # any page of the session has the token
    assert after != before  # nothing of the anonymous session survives sign-in
    stolen = dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303
    thief = web.client()
    thief.cookies.update(stolen)
    answer = thief.get("/")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_new_password_revokes_every_older_session(web):
    web.account("ta@uni.de", "ta")
    first = web.client()
    login(first, "ta@uni.de")
    set_password_with_token(web.engine, reset_link(web.engine, "ta@uni.de"), "a new password!")
    answer = first.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_wrong_passwords_get_one_message_then_429(web):
    web.account("ta@uni.de", "ta")
    client = web.client()
    token = csrf(client)
    for email in ("ta@uni.de", "nobody@uni.de"):
        answer = client.post("/login", data={"email": email, "password": "wrong password",
                                             "csrf_token": token})
        assert answer.status_code == 401 and "the email or the password is wrong" in answer.text
    for _ in range(web.settings.login_failures_per_email - 1):
        client.post("/login", data={"email": "ta@uni.de", "password": "x" * 12,
                                    "csrf_token": token})
    blocked = client.post("/login", data={"email": "ta@uni.de", "password": PASSWORD,
                                          "csrf_token": token})
    assert blocked.status_code == 429 and re.search(r"try again in \d+ minute", blocked.text)


def test_the_limiter_forgets_failures_after_its_window():
    now = [1000.0]
    limiter = LoginLimiter(60, clock=lambda: now[0])
    for _ in range(3):
        limiter.failed("k")
    assert limiter.retry_after("k", 3) == pytest.approx(60)
    now[0] += 30
    assert limiter.retry_after("k", 3) == pytest.approx(30)
    now[0] += 31
    assert limiter.retry_after("k", 3) == 0


def test_state_changing_requests_need_the_csrf_token(web):
    web.account("ta@uni.de", "ta")
    client = web.client()
    csrf(client)
    missing = client.post("/login", data={"email": "ta@uni.de", "password": PASSWORD})
    forged = client.post("/login", data={"email": "ta@uni.de", "password": PASSWORD,
                                         "csrf_token": "forged"})
    assert missing.status_code == forged.status_code == 403
    assert "reload the page" in missing.text


def test_open_redirects_are_refused(web):
    web.account("ta@uni.de", "ta")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        client = web.client()
        answer = client.post("/login", data={"email": "ta@uni.de", "password": PASSWORD,
                                             "next": target, "csrf_token": csrf(client)})
        assert answer.headers["location"] == "/"


def test_every_response_has_the_security_headers_and_the_cookie_is_httponly(web):
    web.account("ta@uni.de", "ta")
    client = web.client()
    page = client.get("/login")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    cookie = login(client, "ta@uni.de").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "<script>" not in page.text.replace("<script src=", "")  # no inline script


def test_the_session_secret_is_a_private_file_next_to_the_database(web, tmp_path):
    path = secret_path(web.course)
    assert path.parent == (web.course.root / "gradebook.db").resolve().parent
    secret = load_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load_secret(path) == secret
    assert secret not in (web.course.root / "course_config.py").read_text()
    os.chmod(path, 0o644)
    with pytest.raises(UserError, match=r"readable by others .*chmod 600"):
        load_secret(path)


def test_users_cli_prints_a_link_that_works(web, course_cli, tiny_course):
    config = tiny_course / "course_config.py"
    result = course_cli(config, "users", "add", "prof@uni.de", "--role", "instructor")
    assert result.exit_code == 0, result.output
    token = re.search(r"/set-password#token=([A-Za-z0-9_-]+)", result.output).group(1)
    assert set_password_with_token(web.engine, token, PASSWORD).role == "instructor"
    listed = course_cli(config, "users", "list")
    assert "prof@uni.de  instructor  password set" in listed.output
    bad = course_cli(config, "users", "add", "x@uni.de", "--role", "student")
    assert bad.exit_code == 2 and "students are invited" in bad.output
    again = course_cli(config, "users", "add", "prof@uni.de", "--role", "ta")
    assert again.exit_code == 2 and "exists already" in again.output
