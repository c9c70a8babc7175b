"""`course worker`: grade the portal's uploads from the grading queue until interrupted."""

from __future__ import annotations

import functools
import signal
import threading
from types import FrameType

import typer

from app.cli.common import console, course_and_gradebook, user_errors


def worker_command(ctx: typer.Context,
                   workers: int = typer.Option(2, "--workers", "-j", min=1,
                                               help="submissions graded at once"),
                   once: bool = typer.Option(False, "--once",
                                             help="stop when the queue is empty"),
                   poll: float = typer.Option(1.0, min=0.05,
                                              help="seconds between looks at an empty "
                                                   "queue")) -> None:
    """Grade queued uploads (Ctrl-C stops; jobs in flight go back to the queue)."""
    from app.worker import run_worker

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # `course serve` stops it with SIGTERM
        signal.signal(signum, functools.partial(_interrupt, stop))
    with user_errors():
        course, engine = course_and_gradebook(ctx)
        console.print(f"course worker on {course.name}: grading {workers} at once "
                      f"({'until the queue is empty' if once else 'Ctrl-C stops'})")
        try:
            summary = run_worker(course, engine, workers=workers, once=once, poll=poll,
                                 stop=stop, note=console.print)
        except KeyboardInterrupt:
            summary = None
    if stop.is_set():
        console.print("stopped; jobs in flight are back in the queue")
    if summary is not None:
        console.print(f"graded {summary.graded}, already graded {summary.reused}, grader "
                      f"errors {summary.failed}, discarded (lease expired) {summary.lost} "
                      f"in {summary.seconds:.1f} s")


def _interrupt(stop: threading.Event, _signum: int, _frame: FrameType | None) -> None:
    """SIGTERM stops the worker as Ctrl-C does (its jobs in flight go back to the queue):
    `stop` is set, and KeyboardInterrupt breaks off what runs (pytest, inside the fork
    pool, may swallow it; the worker then sees `stop`). A second signal is ignored, so it
    cannot cut that clean-up short."""
    stop.set()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt
