"""`make demo`: the instructor's and TA's first five minutes, end to end on real files.

1. `course assign transformer`: master -> student stub + public tests;
2. `course validate transformer`: master runs, reference full, stub zero, mutants caught;
3. `course grade-notebook` on three notebooks: the reference, the untouched stub and a
   buggy submission made from the master by planting one mutant's bug in its answer cell;
4. a summary table of the three results;
5. the TA's term on a generated class of 30 (`autograder/demo_class.py`): roster, collect
   with an LMS worksheet, batch grading, written/presentation/bonus scores, final grades,
   exports, feedback pages and plots.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.config import ConfigError
from autograder.course_loader import load_course
from autograder.layout import module_layout
from autograder.mutants import Mutant, apply_patches, load_mutant
from autograder.core.notebook_io import NotebookNode, nbgrader_meta, read_notebook, write_notebook

SLUG = "transformer"
BUGGY_MUTANT = "mask_inverted"  # solutions/transformer/mutants/<name>.py planted in the demo
console = Console(highlight=False)


def plant_bug(master: NotebookNode, mutant: Mutant) -> NotebookNode:
    """A copy of the master with the mutant's bug where a student would make it: each of
    its PATCH edits made inside the answer cell that holds the old text, each of its
    definitions replacing the same-named one inside the answer cell that holds it."""
    nb = copy.deepcopy(master)
    for old, new in mutant.patches:
        cells = [c for c in nb.cells if c.cell_type == "code"
                 and nbgrader_meta(c).get("solution") and old in c.source]
        if len(cells) != 1:
            raise ConfigError(f"{mutant.path}: PATCH text {old.strip()[:60]!r} is in "
                              f"{len(cells)} answer cells of the master; it must be in one")
        cells[0].source = apply_patches(cells[0].source, dataclasses.replace(
            mutant, patches=((old, new),)), "its answer cell")
    if mutant.patches:
        return nb
    mutant_source = mutant.source
    tree = ast.parse(mutant_source)
    lines = mutant_source.split("\n")
    imports = [ast.get_source_segment(mutant_source, n) for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        replacement = "\n".join(lines[node.lineno - 1 - len(node.decorator_list):node.end_lineno])
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            found = [n for n in ast.parse(cell.source).body
                     if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == node.name]
            if found:
                src = cell.source.split("\n")
                old = found[0]
                first = min([old.lineno] + [d.lineno for d in old.decorator_list])
                src[first - 1:old.end_lineno] = replacement.split("\n")
                cell.source = "\n".join(imports + src) if imports else "\n".join(src)
                break
    return nb


def run(args: list[str], config: Path | None = None) -> int:
    """Run one `course` command (with `--config` when given), echoing it as typed."""
    console.print(f"\n[bold cyan]$ course {' '.join(args)}[/]")
    options = ["--config", str(config)] if config else []
    return subprocess.call([sys.executable, "-m", "app.cli.main", *options, *args])


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
    from app.demo_class import run_class

    class_failures = run_class(course, course.root)
    ok = validate_status == 0 and all(doc is not None for *_, doc in rows) and not class_failures
    console.print(f"\n[bold]demo {'finished' if ok else 'FAILED'}[/]: outputs in "
                  f"{out}/ (three graded notebooks) and {out / 'class'}/ (the class: final.csv, "
                  f"moodle.csv, canvas.csv, feedback/, stats/)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
