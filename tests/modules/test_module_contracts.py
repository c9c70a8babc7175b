"""Every module's contract (docs/modules.md): the reference gets full marks and the configured
points, the stub zero, an alternative correct implementation written differently
(`tests/modules/<slug>_alternative.py`) full marks, every mutant fails the tests it
names, and the master notebook runs top to bottom.

Modules join this test as soon as their master notebook exists under `solutions/`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.course_loader import load_course
from autograder.engine import run_suite
from autograder.layout import module_layout
from autograder.mutants import load_mutants
from autograder.validate import execute_master, base_request, grade_mutants, reference_source_of

from conftest import REPO

COURSE = load_course(REPO / "course_config.py")
HERE = Path(__file__).parent
SLUGS = [m.slug for m in COURSE.modules if module_layout(COURSE, m.slug).master.is_file()]


def _base(slug: str):
    """One intra-op thread per grading process: pytest-xdist already uses both cores."""
    return dataclasses.replace(base_request(COURSE, module_layout(COURSE, slug)), threads=1)


def _grade(slug: str, submission: Path, mode: str = "sandboxed"):
    """Sandboxed by default, as `course grade-notebook` grades."""
    return run_suite(dataclasses.replace(_base(slug), submission=submission, mode=mode))


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["sandboxed", "trusted"])
@pytest.mark.parametrize("slug", SLUGS)
def test_reference_gets_full_marks_and_the_configured_points(slug, mode):
    out = _grade(slug, module_layout(COURSE, slug).master, mode)
    assert out.max_score == COURSE.module(slug).autograded_points, (
        "suite points must equal course_config's autograded_points")
    assert out.score == out.max_score, f"reference failed: {sorted(out.failed_tests())}"
    assert len(out.results["tests"]) >= 10


@pytest.mark.integration
@pytest.mark.parametrize("slug", SLUGS)
def test_stub_gets_zero(slug):
    out = _grade(slug, module_layout(COURSE, slug).stub)
    assert out.score == 0, [t["name"] for t in out.results["tests"] if t["score"] > 0]


@pytest.mark.integration
@pytest.mark.parametrize("slug", SLUGS)
def test_an_alternative_correct_implementation_gets_full_marks(slug):
    out = _grade(slug, HERE / f"{slug}_alternative.py")
    assert out.score == out.max_score == COURSE.module(slug).autograded_points, (
        sorted(out.failed_tests()))


@pytest.mark.integration
@pytest.mark.parametrize("slug", SLUGS)
def test_every_mutant_fails_the_tests_it_names(slug):
    """All of a module's mutants in one fork pool batch, as `course validate` grades them."""
    layout = module_layout(COURSE, slug)
    mutants = load_mutants(layout.mutants_dir)
    results = grade_mutants(_base(slug), reference_source_of(layout), mutants, workers=2)
    missed = [f"{m.name}: {detail}" for m, (ok, detail, _) in zip(mutants, results) if not ok]
    assert len(results) == len(mutants) and not missed, "\n".join(missed)


@pytest.mark.parametrize("slug", SLUGS)
def test_there_are_at_least_eight_mutants(slug):
    assert len(load_mutants(module_layout(COURSE, slug).mutants_dir)) >= 8


@pytest.mark.integration
@pytest.mark.parametrize("slug", SLUGS)
def test_the_master_runs_top_to_bottom(slug):
    ok, detail = execute_master(module_layout(COURSE, slug))
    assert ok, detail
