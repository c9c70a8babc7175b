"""`make serve`: the web app on the demo class's gradebook, with demo staff accounts.

Runs after `make demo` (which builds `demo-output/class/`). The two accounts get the
demo password `DEMO_PASSWORD`, printed here; it exists only in this demo gradebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from autograder.core.errors import UserError
from autograder.course_loader import load_course
from gradebook.queues import sync_queues
from gradebook.store import open_gradebook
from gradebook.users import add_user, list_users, reset_link, set_password_with_token

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "demo-output" / "class" / "course_config.py"
DEMO_PASSWORD = "demo-password-only"
ACCOUNTS = (("instructor@demo.invalid", "instructor"), ("ta@demo.invalid", "ta"))
HOST, PORT = "127.0.0.1", 8000

console = Console()


def demo_accounts(engine) -> None:
    """Both demo accounts exist and have the demo password."""
    known = {found.email for found, _ in list_users(engine)}
    for email, role in ACCOUNTS:
        if email in known:
            token = reset_link(engine, email)
        else:
            _, token = add_user(engine, email, role, by="make serve")
        set_password_with_token(engine, token, DEMO_PASSWORD)


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
        demo_accounts(engine)
        sync_queues(course, engine)
        settings = WebSettings(secret=load_secret(secret_path(course)),
                               public_url=f"http://{HOST}:{PORT}")
        app = create_app(course, engine, settings)
    except UserError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(f"[bold]{course.name}[/] (demo class) at http://{HOST}:{PORT}")
    for email, role in ACCOUNTS:
        console.print(f"  {role:<10} {email}  password: {DEMO_PASSWORD}  (demo only)")
    uvicorn.run(app, host=HOST, port=PORT, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
