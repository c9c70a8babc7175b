"""`make serve`: the web app on the demo class's gradebook, with demo staff accounts.

Runs after `make demo` (which builds `demo-output/class/`). The staff accounts and one
student's (`DEMO_STUDENT`) get the demo password `DEMO_PASSWORD`, printed here; it exists
only in this demo gradebook. The bundles of the modules released by now are built into the
demo's `dist/` (as `course release` does) so the portal can offer them.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console

from app.cli.serve_cmd import stop_worker, worker_process
from autograder.core.errors import UserError
from autograder.course_loader import load_course
from gradebook.queues import sync_queues
from gradebook.store import open_gradebook
from autograder.release.bundle import release
from gradebook.portal import dist_folder
from gradebook.users import (add_user, invite_students, list_users, reset_link,
                             set_password_with_token)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "demo-output" / "class" / "course_config.py"
DEMO_PASSWORD = "demo-password-only"
ACCOUNTS = (("instructor@demo.invalid", "instructor"), ("ta@demo.invalid", "ta"))
DEMO_STUDENT = "s01"  # a roster student of the demo class; signs in with the roster email
HOST, PORT = "127.0.0.1", 8000

console = Console()


def demo_accounts(engine) -> str:
    """The staff demo accounts and one student's exist with the demo password; returns
    the student's login."""
    known = {found.email for found, _ in list_users(engine)}
    for email, role in ACCOUNTS:
        if email in known:
            token = reset_link(engine, email)
        else:
            _, token = add_user(engine, email, role, by="make serve")
        set_password_with_token(engine, token, DEMO_PASSWORD)
    invitation = invite_students(engine, [DEMO_STUDENT], by="make serve")[0][0]
    set_password_with_token(engine, invitation.token, DEMO_PASSWORD)
    return invitation.email


def release_bundles(course) -> None:
    """The bundles of the modules released by now, for the portal's downloads."""
    now = datetime.now(course.tz)
    for spec in course.modules:
        if course.release_at(spec.slug) <= now:
            release(course, spec.slug, dist_folder(course), now, False)


def main() -> int:
    if not (CONFIG.parent / "demo.db").exists():
        console.print(f"[red]no demo gradebook in {CONFIG.parent}[/]: run `make demo` first")
        return 2
    import uvicorn

    from app.web.main import create_app
    from app.web.settings import WebSettings, load_secret, secret_path

    try:
        course = load_course(CONFIG)
        engine = open_gradebook(course)
        student = demo_accounts(engine)
        release_bundles(course)
        sync_queues(course, engine)
        settings = WebSettings(secret=load_secret(secret_path(course)),
                               public_url=f"http://{HOST}:{PORT}")
        app = create_app(course, engine, settings)
    except UserError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(f"[bold]{course.name}[/] (demo class) at http://{HOST}:{PORT}")
    for email, role in (*ACCOUNTS, (student, "student")):
        console.print(f"  {role:<10} {email}  password: {DEMO_PASSWORD}  (demo only)")
    console.print(f"  a student hands in a notebook from {REPO / 'assignments'}/; "
                  f"a `course worker` grades it")
    worker = worker_process(CONFIG)
    try:
        uvicorn.run(app, host=HOST, port=PORT, log_level="info")
    finally:
        stop_worker(worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
