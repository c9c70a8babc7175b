"""The transformer module's contract: reference full, stub zero, an alternative correct
implementation full, every mutant caught by the tests it names, the master runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.course_loader import load_course
from autograder.engine import run_suite
from autograder.layout import module_layout
from autograder.mutants import load_mutants
from autograder.validate import execute_master, base_request, reference_source_of, run_mutant

from conftest import REPO

SLUG = "transformer"
COURSE = load_course(REPO / "course_config.py")
LAYOUT = module_layout(COURSE, SLUG)
ALTERNATIVE = Path(__file__).with_name("transformer_alternative.py")
POINTS = COURSE.module(SLUG).autograded_points


def _base():
    """One intra-op thread per grading process: pytest-xdist already uses both cores."""
    return dataclasses.replace(base_request(COURSE, LAYOUT), threads=1)


def _grade(submission: Path):
    """Sandboxed, as `course grade-notebook` does by default."""
    return run_suite(dataclasses.replace(_base(), submission=submission))


@pytest.mark.parametrize("mode", ["sandboxed", "trusted"])
def test_reference_gets_full_marks_and_the_configured_points(mode):
    out = run_suite(dataclasses.replace(_base(), submission=LAYOUT.master, mode=mode))
    assert out.max_score == POINTS, "suite points must equal course_config's autograded_points"
    assert out.score == out.max_score, f"reference failed: {sorted(out.failed_tests())}"
    assert len(out.results["tests"]) >= 12


def test_stub_gets_zero():
    out = _grade(LAYOUT.stub)
    assert out.score == 0, [t["name"] for t in out.results["tests"] if t["score"] > 0]


def test_an_alternative_correct_implementation_gets_full_marks():
    out = _grade(ALTERNATIVE)
    assert out.score == out.max_score == POINTS, sorted(out.failed_tests())


@pytest.mark.parametrize("mutant", load_mutants(LAYOUT.mutants_dir), ids=lambda m: m.name)
def test_every_mutant_fails_the_tests_it_names(mutant):
    ok, detail, _ = run_mutant(_base(), reference_source_of(LAYOUT), mutant)
    assert ok, detail


def test_there_are_at_least_eight_mutants():
    assert len(load_mutants(LAYOUT.mutants_dir)) >= 8


def test_the_master_runs_top_to_bottom():
    ok, detail = execute_master(LAYOUT)
    assert ok, detail
