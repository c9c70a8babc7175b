"""Every route of the web app declares who may call it, and answers each role accordingly.

The table of routes comes from the app itself (`app.web.main.ROUTERS`), so a new route
without a role guard, or one that lets the wrong role in, fails here.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from web_support import csrf, hand_in, write_tiny_rubric

from app.web.deps import RoleGuard
from app.web.main import ROUTERS
from gradebook import marking, queues

ROLES = ("anonymous", "student", "ta", "instructor")

PUBLIC = ("anonymous", "student", "ta", "instructor")
SIGNED_IN = ("student", "ta", "instructor")
STAFF = ("ta", "instructor")
INSTRUCTOR = ("instructor",)
STUDENT = ("student",)
# Who may call each route: written out here, not read from the app, so that a route
# guarded for the wrong roles fails as surely as one without a guard.
EXPECTED = {
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC,
    ("GET", "/set-password"): PUBLIC, ("POST", "/set-password"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN, ("GET", "/"): SIGNED_IN,
    ("GET", "/grading"): STAFF,
    ("GET", "/grading/{queue_id}"): STAFF,
    ("POST", "/grading/{queue_id}/next"): STAFF,
    ("POST", "/grading/{queue_id}/skips/clear"): STAFF,
    ("POST", "/grading/{queue_id}/anonymous"): INSTRUCTOR,
    ("GET", "/grading/{queue_id}/rubric.toml"): STAFF,
    ("GET", "/grading/{queue_id}/answers/{handle}"): STAFF,
    ("POST", "/grading/{queue_id}/answers/{handle}"): STAFF,
    ("POST", "/grading/{queue_id}/answers/{handle}/skip"): STAFF,
    ("POST", "/grading/{queue_id}/answers/{handle}/release"): STAFF,
    ("POST", "/grading/{queue_id}/answers/{handle}/flag"): STAFF,
    ("POST", "/grading/{queue_id}/answers/{handle}/unflag"): INSTRUCTOR,
    ("POST", "/grading/{queue_id}/items"): STAFF,
    ("POST", "/grading/{queue_id}/items/{item_id}"): STAFF,
    ("POST", "/grading/{queue_id}/items/{item_id}/delete"): STAFF,
    ("POST", "/grading/{queue_id}/items/{item_id}/regrade"): STAFF,
    ("POST", "/grading/{queue_id}/parts"): STAFF,
    ("POST", "/grading/{queue_id}/parts/{part_id}"): STAFF,
    ("POST", "/grading/{queue_id}/comments"): STAFF,
    ("POST", "/grading/{queue_id}/comments/{comment_id}/delete"): STAFF,
    ("GET", "/gradebook"): STAFF,
    ("GET", "/gradebook/students/{student_id}"): STAFF,
    ("POST", "/gradebook/students/{student_id}/override"): INSTRUCTOR,
    ("POST", "/gradebook/students/{student_id}/extensions"): INSTRUCTOR,
    ("GET", "/gradebook/modules/{slug}/stats"): STAFF,
    ("POST", "/gradebook/modules/{slug}/publish"): INSTRUCTOR,
    ("POST", "/gradebook/modules/{slug}/publish-written"): INSTRUCTOR,
    ("POST", "/gradebook/publish-final"): INSTRUCTOR,
    ("GET", "/gradebook/export/{kind}"): INSTRUCTOR,
    ("GET", "/modules/{slug}"): STUDENT,
    ("GET", "/modules/{slug}/status"): STUDENT,
    ("GET", "/modules/{slug}/bundle"): STUDENT,
    ("POST", "/modules/{slug}/submissions"): STUDENT,
    ("POST", "/modules/{slug}/choice"): STUDENT,
}


def _routes() -> list[APIRoute]:
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def _guards(dependant) -> list[RoleGuard]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, RoleGuard)]
    for sub in dependant.dependencies:
        found += _guards(sub)
    return found


def test_every_route_has_exactly_one_role_guard_and_is_in_the_table():
    seen = set()
    for route in _routes():
        guards = _guards(route.dependant)
        assert len(guards) == 1, f"{sorted(route.methods)} {route.path}: {guards or 'no guard'}"
        for method in route.methods - {"HEAD"}:
            assert (method, route.path) in EXPECTED, f"{method} {route.path}: add it to EXPECTED"
            seen.add((method, route.path))
    assert seen == set(EXPECTED), f"routes gone: {set(EXPECTED) - seen}"


@pytest.fixture
def everything(web):
    """A gradebook with a queue, an answer, an item, a part and a saved comment to name."""
    write_tiny_rubric(web.course)
    hand_in(web.course, web.engine, {"s1": "An answer.", "s2": "Another."})
    queues.sync_queues(web.course, web.engine)
    queue = next(q for q in queues.queues(web.engine) if q.component == "written")
    task = queues.tasks(web.course, web.engine, queue)[0]
    parts = marking.rubric_of(web.engine, queue.id)
    marking.add_to_bank(web.engine, queue.id, "Saved.", "t@uni.de")
    params = {"queue_id": queue.id, "handle": task.handle, "item_id": parts[0].items[0].id,
              "part_id": parts[0].id, "comment_id": marking.bank(web.engine, queue.id)[0].id,
              "student_id": "s1", "slug": "tiny", "kind": "csv"}
    return web, params


def test_every_route_as_every_role(everything):
    web, params = everything
    clients = {"anonymous": web.client()}
    for role in ("student", "ta", "instructor"):
        clients[role] = web.signed_in(role)
    home = {"anonymous": "/login", "student": "/", "ta": "/grading", "instructor": "/grading"}
    tokens = {role: csrf(client, home[role]) for role, client in clients.items()}
    checked = 0
    # signing out last: it ends the session (and its CSRF token) the other calls use
    for route in sorted(_routes(), key=lambda r: r.path == "/logout"):
        path = route.path.format(**{k: params[k] for k in route.param_convertors})
        for method in sorted(route.methods - {"HEAD"}):
            for role in ROLES:
                client = clients[role]
                if method == "GET":
                    r = client.get(path)
                else:
                    r = client.request(method, path, data={"csrf_token": tokens[role]})
                where = f"{method} {path} as {role}: {r.status_code}"
                assert r.status_code < 500, where
                if role in EXPECTED[(method, route.path)]:
                    assert r.status_code not in (401, 403), where
                elif role == "anonymous":
                    expected = (303,) if method == "GET" else (401,)
                    assert r.status_code in expected, where
                    if method == "GET":
                        assert r.headers["location"].startswith("/login?next="), where
                else:
                    assert r.status_code == 403, where
                checked += 1
    assert checked >= 4 * 30  # every route was called as every role
