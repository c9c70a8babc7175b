"""Mutant files: definitions that replace the reference's, or PATCH edits of it."""

from __future__ import annotations

import pytest

from autograder.config import ConfigError
from app.demo.planted import plant_bug
from autograder.request import GradeRequest
from autograder.layout import module_layout
from autograder.course_loader import load_course
from autograder.mutants import compose, load_mutant, load_mutants
from autograder.core.notebook_io import read_notebook
from autograder.validate import base_request, grade_mutants, reference_source_of

PATCH_MUTANT = '''"""Counter.mean divides by n + 1 (as a one-line patch)."""
FAILS = ["test_counter_mean"]
PATCH = [("return self.total / max(self.n, 1)", "return self.total / (self.n + 1)")]
'''


def _tiny(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    return course, module_layout(course, "tiny")


@pytest.mark.integration
def test_a_patch_mutant_edits_the_reference_and_is_caught(tiny_course):
    course, layout = _tiny(tiny_course)
    path = layout.mutants_dir / "counter_patch.py"
    path.write_text(PATCH_MUTANT)
    mutant = load_mutant(path)
    assert mutant.patches == (("return self.total / max(self.n, 1)",
                               "return self.total / (self.n + 1)"),)
    reference = reference_source_of(layout)
    patched = compose(reference, mutant).split("mutant counter_patch [mutant]")[0]
    assert "return self.total / (self.n + 1)" in patched
    assert "max(self.n, 1)" not in patched
    base: GradeRequest = base_request(course, layout)
    [(ok, detail, _)] = grade_mutants(base, reference, [mutant])
    assert ok, detail


@pytest.mark.parametrize(("patch", "fragment"), [
    ('[("no such line", "x")]', "found 0 times in the reference"),
    ('[("self", "me")]', "times in the reference; it must occur exactly once"),
])
def test_a_patch_that_does_not_match_once_is_one_line_naming_the_file(tiny_course, patch, fragment):
    course, layout = _tiny(tiny_course)
    path = layout.mutants_dir / "bad_patch.py"
    path.write_text(f'"""A patch that misses."""\nFAILS = ["test_counter_mean"]\nPATCH = {patch}\n')
    with pytest.raises(ConfigError, match=fragment) as err:
        compose(reference_source_of(layout), load_mutant(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    [(ok, detail, _)] = grade_mutants(base_request(course, layout), reference_source_of(layout),
                                      [load_mutant(path)])
    assert not ok and fragment in detail  # `course validate` shows it as a failed check


@pytest.mark.parametrize("patch", ['"not a list"', '[("same", "same")]', '[("", "x")]',
                                   '[("a", "b", "c")]', '[("a", 1)]', '[]',
                                   'make_patches()'])
def test_a_malformed_patch_list_is_refused(tmp_path, patch):
    path = tmp_path / "m.py"
    path.write_text(f'"""Bug."""\nFAILS = ["test_x"]\nPATCH = {patch}\n')
    with pytest.raises(ConfigError, match="PATCH must be a list of"):
        load_mutant(path)


def test_plant_bug_makes_the_patch_inside_the_answer_cell(tiny_course):
    _course, layout = _tiny(tiny_course)
    path = layout.mutants_dir / "counter_patch.py"
    path.write_text(PATCH_MUTANT)
    master = read_notebook(layout.master, 1e9)
    buggy = plant_bug(master, load_mutant(path))
    sources = [c.source for c in buggy.cells if "class Counter" in c.source]
    assert len(sources) == 1 and "return self.total / (self.n + 1)" in sources[0]
    assert "### BEGIN SOLUTION" in sources[0]  # the cell keeps its shape
    assert all("(self.n + 1)" not in c.source for c in master.cells)  # the master is untouched


@pytest.mark.integration
def test_grading_all_mutants_in_one_pool_agrees_with_one_at_a_time(tiny_course):
    """Siblings in a batch do not change a mutant's result."""
    course, layout = _tiny(tiny_course)
    (layout.mutants_dir / "bad_patch.py").write_text(
        '"""A patch that misses."""\nFAILS = ["test_counter_mean"]\nPATCH = [("no such line", "x")]\n')
    mutants = load_mutants(layout.mutants_dir)
    reference, base = reference_source_of(layout), base_request(course, layout)
    batch = grade_mutants(base, reference, mutants, workers=2)  # `course validate`'s way
    single = [grade_mutants(base, reference, [m], workers=1)[0] for m in mutants]
    assert [b[:2] for b in batch] == [s[:2] for s in single]
    assert [m.name for m, b in zip(mutants, batch) if not b[0]] == ["bad_patch"]
    assert all(seconds > 0 for ok, _, seconds in batch if ok)
