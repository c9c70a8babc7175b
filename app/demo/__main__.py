"""`python -m app.demo` (`make demo`): see this package's docstring."""

from __future__ import annotations

import json
import shutil

from rich.table import Table

from app.demo import BUGGY_MUTANT, SLUG, console, run
from app.demo.class_term import run_class
from app.demo.planted import plant_bug
from autograder.course_loader import load_course
from autograder.core.notebook_io import read_notebook, write_notebook
from autograder.layout import module_layout
from autograder.mutants import load_mutant


def main() -> int:
    course = load_course()
    layout = module_layout(course, SLUG)
    out = course.root / "demo-output"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if run(["assign", SLUG]) != 0:
        return 1
    validate_status = run(["validate", SLUG])
    master = read_notebook(layout.master, 1e9)
    buggy = plant_bug(master, load_mutant(layout.mutants_dir / f"{BUGGY_MUTANT}.py"))
    samples = {"reference": layout.master, "stub": layout.stub, "buggy": out / "buggy.ipynb"}
    write_notebook(buggy, samples["buggy"])
    rows = []
    for name, notebook in samples.items():
        results = out / f"{name}.results.json"
        status = run(["grade-notebook", SLUG, str(notebook), "--results", str(results)])
        doc = json.loads(results.read_text()) if results.is_file() else None
        rows.append((name, notebook, status, doc))
    table = Table(title=f"demo: {SLUG}")
    for col in ("notebook", "file", "score", "tests passed", "time (s)"):
        table.add_column(col, overflow="fold")
    for name, notebook, status, doc in rows:
        if doc is None:
            table.add_row(name, str(notebook), f"[red]grader error (exit {status})[/]", "", "")
            continue
        passed = sum(t["status"] == "passed" for t in doc["tests"])
        table.add_row(name, str(notebook.relative_to(course.root)),
                      f"{doc['score']:g} / {doc['max_score']:g}", f"{passed}/{len(doc['tests'])}",
                      f"{doc['execution_time']:.1f}")
    console.print(table)
    console.print(f"results.json files are in {out.relative_to(course.root)}/; "
                  f"`course validate` exit status: {validate_status}")
    class_failures = run_class(course, course.root)
    ok = validate_status == 0 and all(doc is not None for *_, doc in rows) and not class_failures
    console.print(f"\n[bold]demo {'finished' if ok else 'FAILED'}[/]: outputs in "
                  f"{out}/ (three graded notebooks) and {out / 'class'}/ (the class: final.csv, "
                  f"moodle.csv, canvas.csv, feedback/, stats/)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
