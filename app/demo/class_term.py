"""The TA half of `make demo`: a generated class of 30 students through the gradebook.

Submissions are made from the master (correct), the stub (nothing done) and two planted
bugs of every written module; identical notebooks are graded once. Then: collect with an
LMS worksheet (a few late, one past the cut-off), grade, written/presentation/bonus
scores imported from CSV, final grades, exports, feedback pages and plots, all in
`demo-output/class/`.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from autograder.config import Course
from app.demo import run
from app.demo.planted import plant_bug
from autograder.layout import module_layout
from autograder.mutants import load_mutants
from autograder.core.notebook_io import read_notebook, write_notebook

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret",
         "Claude"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
        "Hamilton", "Shannon"]
DEMO_BUGS = ("mask_inverted", "no_scaling")  # planted where a module has them
console = Console(highlight=False)


def build_class(course: Course, out: Path, n: int = 30, seed: int = 0) -> dict[str, Path]:
    """Write roster.csv, one folder of submissions and one worksheet per written module,
    and score CSVs; return the paths by name."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    students = [(f"s{i:02d}", f"{FIRST[i % 10]} {LAST[(i * 3) % 10]}", f"s{i:02d}@uni.example")
                for i in range(1, n + 1)]
    paths = {"roster": out / "roster.csv"}
    with paths["roster"].open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "email", "lms_id"])
        writer.writerows([(sid, name, email, str(1000 + i)) for i, (sid, name, email)
                          in enumerate(students, start=1)])
    for spec in course.modules:
        layout = module_layout(course, spec.slug)
        if not layout.master.is_file():
            continue
        master = read_notebook(layout.master, 1e9)
        variants = {"correct": master, "stub": read_notebook(layout.stub, 1e9)}
        mutants = load_mutants(layout.mutants_dir)
        chosen = [m for m in mutants if m.name in DEMO_BUGS] or mutants[:2]
        for mutant in chosen[:2]:
            variants[mutant.name] = plant_bug(master, mutant)
        folder = out / f"submissions-{spec.slug}"
        folder.mkdir(exist_ok=True)
        names = list(variants)
        due = course.due_date(spec.slug)
        sheet = out / f"worksheet-{spec.slug}.csv"
        with sheet.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Identifier", "Email address", "Last modified (submission)"])
            for i, (sid, _name, email) in enumerate(students):
                kind = names[0] if i < n * 0.4 else names[1 + (i % (len(names) - 1))]
                write_notebook(variants[kind], folder / f"{sid}_{spec.slug}.ipynb")
                late = 0 if i % 10 else (2 if i < 20 else 9)  # two days late; one past cut-off
                when = f"{due + timedelta(days=late)} {'21:30' if not late else '10:00'}"
                writer.writerow([f"Participant {1001 + i}", email, when])
        paths[f"submissions-{spec.slug}"] = folder
        paths[f"worksheet-{spec.slug}"] = sheet
        paths[f"written-{spec.slug}"] = _scores(out / f"written-{spec.slug}.csv", students, rng,
                                                spec.written_points, slug=spec.slug)
    paths["presentation"] = _scores(out / "presentation.csv", students, rng, 10)
    paths["bonus"] = _scores(out / "bonus.csv", students[::7], rng, course.bonus_cap, whole=True)
    return paths


def _scores(path: Path, students: list, rng: random.Random, maximum: float,
            slug: str | None = None, whole: bool = False) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "name", "points", "max_points", "comment"])
        for sid, name, _ in students:
            points = rng.randint(1, int(maximum)) if whole else round(rng.uniform(0.4, 1.0) * maximum, 1)
            writer.writerow([sid, name, points, maximum, "demo"])
    return path


def run_class(course: Course, root: Path) -> int:
    """The whole TA workflow on a generated class; returns the number of failed steps."""
    out = root / "demo-output" / "class"
    config = out / "course_config.py"
    out.mkdir(parents=True, exist_ok=True)
    # the demo's own gradebook and config, so the course's real gradebook is untouched
    config.write_text((course.root / "course_config.py").read_text().replace(
        'database_url="sqlite:///gradebook.db"', 'database_url="sqlite:///demo.db"'))
    for sub in ("solutions", "assignments"):
        link = out / sub
        if not link.exists():
            link.symlink_to(course.root / sub)
    (out / "demo.db").unlink(missing_ok=True)
    paths = build_class(dataclasses.replace(course, root=course.root), out)
    failures = 0
    steps: list[tuple[str, ...]] = [("roster", "import", str(paths["roster"]))]
    for spec in course.modules:
        if f"submissions-{spec.slug}" not in paths:
            continue
        steps += [("collect", spec.slug, str(paths[f"submissions-{spec.slug}"]), "--times",
                   str(paths[f"worksheet-{spec.slug}"])),
                  ("grade", spec.slug, "-j", "2"),
                  ("written", spec.slug, "--out", str(out / "written" / spec.slug)),
                  ("scores", "import", str(paths[f"written-{spec.slug}"]), "--component", "written",
                   "--slug", spec.slug)]
    steps += [("scores", "import", str(paths["presentation"]), "--component", "presentation"),
              ("scores", "import", str(paths["bonus"]), "--component", "bonus"),
              ("final", "--csv", str(out / "final.csv")),
              ("export", "moodle", "--out", str(out / "moodle.csv")),
              ("export", "canvas", "--out", str(out / "canvas.csv"))]
    for spec in course.modules:
        if f"submissions-{spec.slug}" in paths:
            steps += [("feedback", spec.slug, "--out", str(out / "feedback" / spec.slug)),
                      ("stats", spec.slug, "--out", str(out / "stats" / spec.slug))]
    for step in steps:
        if run(list(step), config) != 0:
            failures += 1
            console.print(f"[red]step failed:[/] course {' '.join(step)}")
    console.print(f"\n[bold]class demo outputs:[/] {out}")
    return failures
