"""`course serve`: the web app on the course's gradebook (uvicorn)."""

from __future__ import annotations

import typer

from app.cli.common import console, course_and_gradebook, user_errors


def serve_command(ctx: typer.Context,
                  host: str = typer.Option("127.0.0.1", help="address to listen on"),
                  port: int = typer.Option(8000, min=1, max=65535, help="port to listen on"),
                  secure_cookies: bool = typer.Option(
                      False, "--secure-cookies/--no-secure-cookies",
                      help="send session cookies over HTTPS only (set it behind an HTTPS "
                           "proxy)")) -> None:
    """Serve the staff web app until interrupted (Ctrl-C)."""
    import uvicorn

    from app.web.main import create_app
    from app.web.settings import WebSettings, load_secret, secret_path

    with user_errors():
        course, engine = course_and_gradebook(ctx)
        settings = WebSettings(secret=load_secret(secret_path(course)),
                               secure_cookies=secure_cookies,
                               public_url=f"http://{host}:{port}")
        web = create_app(course, engine, settings)
    console.print(f"serving {course.name} at http://{host}:{port} (Ctrl-C stops)")
    uvicorn.run(web, host=host, port=port, log_level="info", access_log=True)
