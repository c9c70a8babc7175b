"""Batch grading throughput and aggregation speed, one run, two tables.

(1) `course grade` on N distinct submissions (default 40, the tiny numpy course) with 1
    and 2 workers: seconds, submissions per second, scaling efficiency
    (throughput(2) / (2 x throughput(1))). `--module transformer --count 8` grades the
    transformer reference instead (about 10 s per submission on 2 cores).
(2) `final_grades` for a synthetic 10,000 students x 6 modules (target: under 2 s).

Usage: .venv/bin/python benchmarks/batch.py [--count 40] [--module tiny]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from gradebook.aggregate import final_grades  # noqa: E402
from app.grading import grade_batch  # noqa: E402
from gradebook.collect import collect  # noqa: E402
from gradebook.roster import import_roster  # noqa: E402
from gradebook.store import open_gradebook  # noqa: E402


def grading_rows(count: int, module: str) -> list[tuple[int, float, float]]:
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "course"
            if module == "tiny":
                shutil.copytree(REPO / "tests" / "fixtures" / "tinycourse", root)
                config = root / "course_config.py"
            else:
                root.mkdir()
                config = REPO / "course_config.py"
            course = load_course(config)
            course = dataclasses.replace(course, database_url=f"sqlite:///{root / 'bench.db'}")
            engine = open_gradebook(course)
            roster = root / "students.csv"
            roster.write_text("id,name,email\n" + "".join(
                f"b{i:03d},Student {i},b{i:03d}@uni.de\n" for i in range(count)))
            import_roster(engine, roster)
            master = course.root / "solutions" / module / f"{module}.ipynb"
            batch = root / "batch"
            batch.mkdir()
            for i in range(count):
                nb = json.loads(master.read_text())
                nb["metadata"]["variant"] = i  # distinct bytes: nothing is deduplicated
                (batch / f"b{i:03d}.ipynb").write_text(json.dumps(nb))
            collect(engine, module, batch)
            start = time.monotonic()
            summary = grade_batch(course, engine, module, workers=workers)
            elapsed = time.monotonic() - start
            assert summary.graded == count and not summary.failed, summary.failed
            rows.append((workers, elapsed, count / elapsed))
    return rows


def aggregation_seconds(n_students: int = 10_000) -> float:
    course = load_course(REPO / "course_config.py")
    rng = np.random.default_rng(0)
    students = [f"s{i:05d}" for i in range(n_students)]
    frames = []
    for spec in course.modules:
        due = pd.Timestamp(course.due_date(spec.slug), tz=course.timezone) + pd.Timedelta(hours=23)
        k = rng.integers(1, 4, n_students)
        sid = np.repeat(students, k)
        frames.append(pd.DataFrame({
            "student_id": sid, "slug": spec.slug,
            "submitted_at": due + pd.to_timedelta(rng.normal(-2, 3, len(sid)), unit="D"),
            "autograded": rng.uniform(0, spec.autograded_points, len(sid))}))
    attempts = pd.concat(frames, ignore_index=True)
    manual = pd.concat([
        pd.DataFrame({"student_id": students, "component": "written", "slug": m.slug,
                      "points": rng.uniform(0, m.written_points, n_students),
                      "max_points": m.written_points}) for m in course.modules] + [
        pd.DataFrame({"student_id": students, "component": "presentation", "slug": None,
                      "points": rng.uniform(0, 10, n_students), "max_points": 10.0}),
        pd.DataFrame({"student_id": students[::10], "component": "bonus", "slug": None,
                      "points": 2.0, "max_points": 5.0})], ignore_index=True)
    extensions = pd.DataFrame({"student_id": students[::50], "slug": "vae", "days": 3})
    start = time.monotonic()
    table = final_grades(course, attempts, manual, extensions, students)
    elapsed = time.monotonic() - start
    assert len(table) == n_students
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--module", default="tiny")
    args = parser.parse_args()
    console = Console()
    rows = grading_rows(args.count, args.module)
    table = Table(title=f"(1) course grade: {args.count} {args.module} submissions (sandboxed)")
    for col in ("workers", "seconds", "submissions/s", "s per submission", "scaling efficiency"):
        table.add_column(col, justify="right")
    base = rows[0][2]
    for workers, seconds, rate in rows:
        table.add_row(str(workers), f"{seconds:.1f}", f"{rate:.2f}", f"{1 / rate:.3f}",
                      f"{rate / (workers * base):.0%}")
    console.print(table)
    seconds = aggregation_seconds()
    table = Table(title="(2) final_grades, 10,000 students x 6 modules")
    table.add_column("seconds", justify="right")
    table.add_column("target", justify="right")
    table.add_row(f"{seconds:.2f}", "< 2")
    console.print(table)


if __name__ == "__main__":
    main()
