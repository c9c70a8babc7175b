"""Sandbox overhead, one run, one table of medians.

(a) the transformer hidden suite on the reference, sandboxed (bubblewrap worker) vs.
    trusted (student code in the grading process);
(b) 20 submissions of the tiny numpy assignment: one fresh grading process each
    (sandboxed and trusted), then through pre-started grading processes (a fork server,
    1 and 2 at a time), sandboxed: seconds per submission.

Usage: .venv/bin/python benchmarks/overhead.py [--repeats 3] [--batch 20] [--batch-only]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from autograder.engine import run_suite  # noqa: E402
from autograder.request import GradeRequest  # noqa: E402
from autograder.layout import module_layout  # noqa: E402
from autograder.pool import ForkPool  # noqa: E402
from autograder.sandbox.policy import choose_kind  # noqa: E402
from autograder.validate import base_request  # noqa: E402


def timed(req: GradeRequest) -> tuple[float, float, float]:
    """(wall seconds, suite execution_time, worker start seconds)."""
    start = time.monotonic()
    out = run_suite(req)
    extra = out.results["extra_data"]
    return time.monotonic() - start, out.results["execution_time"], extra.get("worker_start_seconds", 0.0)


def transformer_rows(repeats: int) -> list[tuple[str, float, float, float]]:
    course = load_course(REPO / "course_config.py")
    base = base_request(course, module_layout(course, "transformer"))
    rows = []
    for mode in ("trusted", "sandboxed"):
        runs = [timed(dataclasses.replace(base, mode=mode)) for _ in range(repeats)]
        rows.append((mode, *(statistics.median(r[i] for r in runs) for i in range(3))))
    return rows


def cpu_seconds() -> float:
    """CPU time of the whole machine so far (all processes: the worker chain included,
    which no rusage of ours sees)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def batch_rows(n: int) -> list[tuple[str, float, float]]:
    tiny = REPO / "tests" / "fixtures" / "tinycourse" / "solutions" / "tiny"
    course = load_course(REPO / "tests" / "fixtures" / "tinycourse" / "course_config.py")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subs = []
        for i in range(n):  # distinct files, same content: a class of correct notebooks
            path = Path(tmp) / f"student{i:02d}.ipynb"
            shutil.copy(tiny / "tiny.ipynb", path)
            subs.append(path)
        for mode in ("trusted", "sandboxed"):
            start, cpu = time.monotonic(), cpu_seconds()
            for sub in subs:
                req = GradeRequest(suite=[tiny / "test_tiny.py"], submission=sub,
                                   master=tiny / "tiny.ipynb", limits=course.sandbox, mode=mode)
                assert run_suite(req).score == 10
            rows.append((f"{mode}, fresh process each", (time.monotonic() - start) / n,
                         (cpu_seconds() - cpu) / n))
        for workers in (1, 2):
            pool = ForkPool(workers=workers)
            reqs = [GradeRequest(suite=[tiny / "test_tiny.py"], submission=sub,
                                 master=tiny / "tiny.ipynb", limits=course.sandbox,
                                 mode="sandboxed", threads=1) for sub in subs]
            start, cpu = time.monotonic(), cpu_seconds()
            outcomes = pool.grade_all(reqs)
            elapsed = time.monotonic() - start
            assert all(not isinstance(o, Exception) and o.score == 10 for o in outcomes), outcomes
            rows.append((f"sandboxed, fork pool, {workers} worker(s)", elapsed / n,
                         (cpu_seconds() - cpu) / n))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--batch-only", action="store_true", help="skip (a), the transformer")
    args = parser.parse_args()
    console = Console()
    kind = choose_kind("auto")
    b = batch_rows(args.batch)
    table = Table(title=f"(b) {args.batch} tiny numpy submissions (sandbox: {kind})")
    table.add_column("mode")
    table.add_column("wall s per submission", justify="right")
    table.add_column("machine CPU s per submission", justify="right")
    for mode, per, cpu in b:
        table.add_row(mode, f"{per:.3f}", f"{cpu:.3f}")
    if args.batch_only:
        console.print(table)
        print(json.dumps({"batch": b}))
        return
    a = transformer_rows(args.repeats)
    table = Table(title=f"(a) transformer suite, reference, median of {args.repeats} (sandbox: {kind})")
    for col in ("mode", "wall s", "suite s", "worker start s"):
        table.add_column(col, justify="right")
    for mode, wall, suite, start in a:
        table.add_row(mode, f"{wall:.2f}", f"{suite:.2f}", f"{start:.2f}")
    console.print(table)
    trusted, sandboxed = a[0], a[1]
    console.print(f"sandboxed / trusted (wall): {sandboxed[1] / trusted[1]:.2f}x; "
                  f"suite time without worker start: {(sandboxed[2] - sandboxed[3]) / trusted[2]:.2f}x")
    console.print(table)
    print(json.dumps({"transformer": a, "batch": b}))


if __name__ == "__main__":
    main()
