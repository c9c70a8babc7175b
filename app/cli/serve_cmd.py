"""`course serve`: the web app on the course's gradebook (uvicorn), and one `course
worker` process grading the portal's uploads beside it (unless `--no-worker`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer

from app.cli.common import console, course_and_gradebook, user_errors


def serve_command(ctx: typer.Context,
                  host: str = typer.Option("127.0.0.1", help="address to listen on"),
                  port: int = typer.Option(8000, min=1, max=65535, help="port to listen on"),
                  secure_cookies: bool = typer.Option(
                      False, "--secure-cookies/--no-secure-cookies",
                      help="send session cookies over HTTPS only (set it behind an HTTPS "
                           "proxy)"),
                  worker: bool = typer.Option(True, "--worker/--no-worker",
                                              help="start one `course worker` process beside "
                                                   "the web app (stopped with it)")) -> None:
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
    process = None
    if worker:
        config = (ctx.obj or {}).get("config") or course.root / "course_config.py"
        process = worker_process(Path(config))
    try:
        uvicorn.run(web, host=host, port=port, log_level="info", access_log=True)
    finally:
        if process is not None:
            stop_worker(process)


WORKER_NICE = 10  # grading runs below the web app's CPU priority


def niced(argv: list[str]) -> list[str]:
    """`argv` at the worker's lower CPU priority, so that grading a rush of uploads does
    not slow the pages down (unchanged where `nice` is missing)."""
    return ["nice", "-n", str(WORKER_NICE), *argv] if shutil.which("nice") else argv


def worker_process(config: Path) -> subprocess.Popen:
    """`course worker` on the same config, as a child process (`niced`)."""
    return subprocess.Popen(niced([sys.executable, "-m", "app.cli.main", "--config",
                                   str(config), "worker"]))


def stop_worker(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (the worker puts its jobs in flight back in the queue), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
