"""A simulated course under load: S students x 6 modules through collect -> grade ->
aggregate with the local executor, one table.

Each of the 6 modules uses the tiny numpy suite (real grading processes, real sandboxed
workers, real SQLite gradebook); each student submits a distinct notebook per module
(about 80% correct, 15% partly wrong, 5% broken), so nothing is deduplicated. Reports
per stage: seconds and throughput; and the peak memory of this process (the gradebook's
single writer) and of the largest grading child.

Usage: .venv/bin/python benchmarks/load.py [--students 300] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from gradebook.aggregate import final_grades  # noqa: E402
from app.grading import grade_batch  # noqa: E402
from gradebook.collect import collect  # noqa: E402
from gradebook.doctor import diagnose  # noqa: E402
from gradebook.frames import load_frames  # noqa: E402
from gradebook.roster import import_roster  # noqa: E402
from gradebook.store import open_gradebook  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "tinycourse"
SLUGS = ("m1_transformer", "m2_nystrom", "m3_vae", "m4_coder", "m5_dpsgd", "m6_ppo")
WRONG = "def softmax(x):\n    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)\n"
BROKEN = "def softmax(x)\n    return x\n"


def build_course(root: Path) -> Path:
    """A 6-module course whose modules all use the tiny numpy suite."""
    modules = ",\n".join(
        f'        ModuleSpec(slug="{slug}", title="{slug}", release_week={1 + 2 * i}, '
        f'due_offset_days=14, autograded_points=10, written_points=2, weight=1/6)'
        for i, slug in enumerate(SLUGS))
    config = (TINY / "course_config.py").read_text()
    start = config.index("    modules=(")
    end = config.index("),\n", start) + 3
    config = config[:start] + f"    modules=(\n{modules},\n    ),\n" + config[end:]
    (root / "course_config.py").write_text(config)
    for slug in SLUGS:
        dest = root / "solutions" / slug
        shutil.copytree(TINY / "solutions" / "tiny", dest)
        (dest / "tiny.ipynb").rename(dest / f"{slug}.ipynb")
        (dest / "test_tiny.py").rename(dest / f"test_{slug}.py")
    return root / "course_config.py"


def notebooks(root: Path, slug: str, students: list[str], rng: random.Random) -> Path:
    master = json.loads((root / "solutions" / slug / f"{slug}.ipynb").read_text())
    folder = root / "batches" / slug
    folder.mkdir(parents=True)
    for sid in students:
        (folder / f"{sid}.ipynb").write_text(json.dumps(student_variant(master, sid, rng)))
    return folder


def student_variant(master: dict, sid: str, rng: random.Random) -> dict:
    """The tiny master as student `sid` hands it in: about 80% correct, 15% partly wrong,
    5% broken, distinct per student."""
    nb = json.loads(json.dumps(master))
    roll = rng.random()
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "softmax":
            if roll > 0.95:
                cell["source"] = BROKEN
            elif roll > 0.80:
                cell["source"] = WRONG
            cell["source"] += f"\n# {sid}\n"
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(300)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fdl-load-") as tmp:
        root = Path(tmp)
        course = load_course(build_course(root))
        engine = open_gradebook(course)
        students = [f"s{i:04d}" for i in range(args.students)]
        (root / "roster.csv").write_text("id,name,email\n" + "".join(
            f"{s},Student {s},{s}@uni.de\n" for s in students))
        import_roster(engine, root / "roster.csv")
        batches = {slug: notebooks(root, slug, students, rng) for slug in SLUGS}

        start = time.monotonic()
        for slug, folder in batches.items():
            collect(engine, slug, folder)
        seconds = time.monotonic() - start
        n = args.students * len(SLUGS)
        rows.append(("collect", n, seconds))

        start = time.monotonic()
        failed = 0
        for slug in SLUGS:
            summary = grade_batch(course, engine, slug, workers=args.workers)
            failed += len(summary.failed)
        seconds = time.monotonic() - start
        rows.append(("grade (sandboxed)", n, seconds))

        start = time.monotonic()
        attempts, manual, extensions, ids = load_frames(engine, course)
        table_df = final_grades(course, attempts, manual, extensions, ids)
        seconds = time.monotonic() - start
        rows.append(("aggregate (course final)", len(table_df), seconds))

        start = time.monotonic()
        problems = [p for f in diagnose(course, engine) for p in f.problems]
        rows.append(("course doctor", n, time.monotonic() - start))
        db_mb = (root / "tiny.db").stat().st_size / 2**20

    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    table = Table(title=f"{args.students} students x {len(SLUGS)} modules, "
                        f"{args.workers} workers")
    for col in ("stage", "items", "seconds", "items / s"):
        table.add_column(col, justify="right")
    for stage, items, seconds in rows:
        table.add_row(stage, str(items), f"{seconds:.1f}", f"{items / seconds:.1f}")
    console = Console(width=120)
    console.print(table)
    console.print(f"peak memory: writer {me:.0f} MiB, largest grading child {child:.0f} MiB; "
                  f"gradebook {db_mb:.1f} MiB; grader errors {failed}; doctor problems "
                  f"{len(problems)}")


if __name__ == "__main__":
    main()
