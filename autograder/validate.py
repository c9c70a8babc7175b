"""`course validate`: prove a module's suite before students see it.

Checks, per module: the stub is what `course assign` generates; written points match the
config; the master runs top to bottom; the reference gets full marks and the suite's
points match the config; the stub gets zero; every mutant loses points on the tests it
names and no other (mutants run trusted, without `slow` tests, in one fork pool).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from autograder.assign import assign, written_points
from autograder.config import Course
from autograder.engine import GradeOutcome, run_suite
from autograder.request import GradeRequest, build_request
from autograder.core.errors import GraderError, UserError
from autograder.core.extract import extract
from autograder.layout import ModuleLayout, module_layout
from autograder.mutants import Mutant, compose, load_mutants
from autograder.core.notebook_io import read_notebook
from autograder.pool import ForkPool


@dataclass
class Check:
    """One row of the validation table."""

    module: str
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


Progress = Callable[[Check], None]


def validate_module(course: Course, slug: str, *, workers: int = 2, run_master: bool = True,
                    progress: Progress | None = None, device: str = "cpu") -> list[Check]:
    """Run every check for one module; never raises for a failing check. With
    device="cuda" the reference, stub and mutants are graded with the student's code on the
    GPU (mutants sandboxed, since trusted mode runs on the CPU)."""
    layout = module_layout(course, slug)
    checks: list[Check] = []

    def record(name: str, fn: Callable[[], tuple[bool, str]]) -> bool:
        start = time.monotonic()
        try:
            ok, detail = fn()
        except (UserError, GraderError) as exc:
            ok, detail = False, _first_line(exc)
        check = Check(slug, name, ok, detail, time.monotonic() - start)
        checks.append(check)
        if progress:
            progress(check)
        return ok

    if not record("files present", lambda: _files(layout)):
        return checks
    spec = course.module(slug)
    record("stub up to date", lambda: _stub_fresh(layout, spec.title))
    record("written points", lambda: _written(layout, spec.written_points))
    if run_master:
        record("master runs", lambda: execute_master(layout))
    base = base_request(course, layout, device)
    record("reference full marks", lambda: _reference(base, spec.autograded_points))
    if layout.stub.is_file():
        record("stub scores zero", lambda: _stub_zero(base, layout))
    mutants = load_mutants(layout.mutants_dir)
    if not mutants:
        record("mutants", lambda: (False, f"no mutants in {layout.mutants_dir}"))
    reference_source = reference_source_of(layout)
    mutant_base = dataclasses.replace(base, threads=max(1, (os.cpu_count() or 1) // max(1, workers)))
    mode = "sandboxed" if device == "cuda" else "trusted"
    for mutant, (ok, detail, seconds) in zip(mutants, grade_mutants(
            mutant_base, reference_source, mutants, mode, workers)):
        check = Check(slug, f"mutant {mutant.name}", ok, detail, seconds)
        checks.append(check)
        if progress:
            progress(check)
    return checks


def base_request(course: Course, layout: ModuleLayout, device: str | None = None
                 ) -> GradeRequest:
    """Grading the master with the hidden suite, sandboxed on this machine; other runs
    replace the submission and the mode."""
    return build_request(course, layout.slug, layout.master, device=device, backend="local")


def reference_source_of(layout: ModuleLayout) -> str:
    """The master's extracted code, rendered (what mutants are appended to)."""
    master = read_notebook(layout.master, 1e9)
    return extract(master, master).render()


def _files(layout: ModuleLayout) -> tuple[bool, str]:
    layout.require("master", "hidden_suite")
    return True, f"{layout.master.name}, {layout.hidden_suite.name}"


def _stub_fresh(layout: ModuleLayout, title: str) -> tuple[bool, str]:
    stale = assign(layout, title, check=True).stale
    if stale:
        return False, f"{len(stale)} file(s) differ from `course assign {layout.slug}`, e.g. {stale[0].name}"
    return True, "matches `course assign`"


def _written(layout: ModuleLayout, expected: float) -> tuple[bool, str]:
    got = written_points(read_notebook(layout.master, 1e9))
    return got == expected, f"master {got:g}, course_config {expected:g}"


def execute_master(layout: ModuleLayout) -> tuple[bool, str]:
    """Run the master top to bottom in a scratch folder: (ok, detail)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = read_notebook(layout.master, 1e9)
    with tempfile.TemporaryDirectory(prefix="master-run-") as tmp:
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": tmp}})
        try:
            client.execute(stderr=subprocess.DEVNULL)
        except (CellExecutionError, CellTimeoutError) as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            return False, (lines[-1] if lines else "a cell failed")[:200]
    return True, f"{sum(c.cell_type == 'code' for c in nb.cells)} code cells ran"


def _reference(base: GradeRequest, points: float) -> tuple[bool, str]:
    out = run_suite(base)
    full = out.score == out.max_score
    match = out.max_score == points
    failed = sorted(out.failed_tests())
    detail = f"{out.score:g}/{out.max_score:g} in {out.results['execution_time']:.1f} s"
    if not full:
        detail += f"; failed: {', '.join(failed)}"
    if not match:
        detail += f"; suite points {out.max_score:g} != course_config {points:g}"
    return full and match, detail


def _stub_zero(base: GradeRequest, layout: ModuleLayout) -> tuple[bool, str]:
    req = dataclasses.replace(base, submission=layout.stub)
    out = run_suite(req)
    passed = sorted(t["name"] for t in out.results["tests"] if t["score"] > 0)
    return out.score == 0, f"{out.score:g}/{out.max_score:g}" + (
        f"; passed: {', '.join(passed)}" if passed else "")


MutantResult = tuple[bool, str, float]  # (caught as promised?, detail, seconds)


def grade_mutants(base: GradeRequest, reference_source: str, mutants: Sequence[Mutant],
                  mode: str = "trusted", workers: int = 2) -> list[MutantResult]:
    """Grade mutants of one module in one fork pool batch (the suite imported and
    collected once, as in `course grade`), without the slow tests, trusted unless `mode`
    says sandboxed (as on a GPU): (caught as promised?, detail, seconds) per mutant, in
    order. The one way mutants are graded: `course validate`, the module contract tests
    and benchmarks/gpu_check.py all call it. A PATCH that does not apply, or a grading
    that failed, is a mutant not caught, with its one-line reason as the detail."""
    results: list[MutantResult | None] = [None] * len(mutants)
    requests, where = [], []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        for i, mutant in enumerate(mutants):
            try:
                requests.append(_mutant_request(base, reference_source, mutant, mode,
                                                Path(tmp) / f"{i:03d}-{mutant.name}"))
            except UserError as exc:
                results[i] = (False, _first_line(exc), 0.0)
                continue
            where.append(i)
        outcomes: list[GradeOutcome | Exception] = []
        if requests:
            try:
                outcomes = ForkPool.for_suite(base.suite[0], workers).grade_all(requests)
            except GraderError as exc:  # the batch's session failed: no mutant was graded
                outcomes = [exc] * len(requests)
    for i, outcome in zip(where, outcomes):
        if isinstance(outcome, Exception):
            results[i] = (False, _first_line(outcome), 0.0)
        else:
            results[i] = (*_judge(mutants[i], outcome), outcome.wall_time)
    return [r for r in results if r is not None]


def _mutant_request(base: GradeRequest, reference_source: str, mutant: Mutant, mode: str,
                    folder: Path) -> GradeRequest:
    """The reference with the mutant applied, as a module in `folder`, graded without the
    slow tests; a PATCH that does not apply raises its UserError here."""
    folder.mkdir(exist_ok=True)
    module = folder / "submission.py"
    module.write_text(compose(reference_source, mutant), encoding="utf-8")
    return dataclasses.replace(base, submission=module, marker_expr="not slow", mode=mode)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _judge(mutant: Mutant, out: GradeOutcome) -> tuple[bool, str]:
    """Does the mutant lose points on exactly the tests it names? One bug must cost points
    in the tests of its function, once: a test failing that FAILS does not name is as
    wrong as a named test that passes."""
    failed = {name.split("[")[0] for name in out.failed_tests()}
    ran = {t["name"].split("[")[0] for t in out.results["tests"]}
    promised = set(mutant.fails)
    missed = sorted(promised - failed)
    extra = sorted(failed - promised)
    ok = not missed and not extra and out.score < out.max_score
    detail = f"{out.score:g}/{out.max_score:g}: {mutant.description}"
    not_run = [name for name in missed if name not in ran]
    if not_run:
        detail += f"; {', '.join(not_run)} did not run (slow tests are left out of mutant runs)"
    if missed and len(not_run) < len(missed):
        detail += f"; NOT caught by {', '.join(n for n in missed if n not in not_run)}"
    if extra:
        detail += f"; also failed {', '.join(extra)}, which FAILS does not name"
    return ok, detail
