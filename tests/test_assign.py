"""course assign: master -> stub through nbgrader's preprocessors; committed stubs are fresh."""

from __future__ import annotations

import json

import pytest

from autograder.assign import assign, generate_stub, written_points
from autograder.config import ConfigError
from autograder.course_loader import load_course
from autograder.layout import module_layout
from autograder.core.notebook_io import read_notebook

from conftest import REPO


def _by_id(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def test_stub_clears_solutions_locks_cells_and_records_the_slug(tiny_course):
    master = read_notebook(tiny_course / "solutions" / "tiny" / "tiny.ipynb")
    stub = generate_stub(master, "tiny", "Tiny")
    cells = _by_id(stub)
    assert "BEGIN SOLUTION" not in json.dumps(stub)
    assert "raise NotImplementedError()" in cells["softmax"].source
    assert '"""Softmax over the last axis.' in cells["softmax"].source  # docstring kept
    assert "np.exp" not in cells["softmax"].source
    assert cells["written_max"].source == "YOUR ANSWER HERE"
    assert cells["imports"].metadata["editable"] is False
    assert cells["imports"].metadata["deletable"] is False
    assert cells["softmax"].metadata["deletable"] is False
    assert all("checksum" in c.metadata["nbgrader"] for c in cells.values())
    assert all(c.get("outputs", []) == [] for c in stub.cells if c.cell_type == "code")
    assert stub.metadata["course"] == {"slug": "tiny", "title": "Tiny"}


def test_assign_writes_stub_and_public_tests_then_is_idempotent(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    first = assign(layout, "Tiny numpy module")
    assert layout.stub.is_file()
    assert (layout.assignment_dir / "test_public_tiny.py").is_file()
    assert assign(layout, "Tiny numpy module", check=True).stale == []
    assert assign(layout, "Tiny numpy module").written == []
    assert len(first.written) == 2


def test_a_stale_stub_is_detected(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    assign(layout, "Tiny numpy module")
    layout.stub.write_text(layout.stub.read_text().replace("Tiny module", "Edited"))
    assert assign(layout, "Tiny numpy module", check=True).stale == [layout.stub]


def test_authoring_mistakes_in_the_master_are_one_line(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    nb = json.loads(layout.master.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"})
    layout.master.write_text(json.dumps(nb))
    with pytest.raises(ConfigError, match="solution region but no nbgrader metadata"):
        assign(layout, "Tiny")


def test_written_points_sum_the_manually_graded_cells(tiny_course):
    master = read_notebook(tiny_course / "solutions" / "tiny" / "tiny.ipynb")
    assert written_points(master) == 2


@pytest.mark.parametrize("slug", [m.slug for m in load_course(REPO / "course_config.py").modules])
def test_every_committed_stub_equals_what_assign_generates(slug):
    course = load_course(REPO / "course_config.py")
    layout = module_layout(course, slug)
    if not layout.master.is_file():
        pytest.skip(f"module {slug} is not written yet (no {layout.master.name})")
    assert assign(layout, course.module(slug).title, check=True).stale == [], \
        f"run `course assign {slug}` and commit the result"


def test_suite_hash_covers_data_files_but_not_mutants(tiny_course):
    from autograder.config import SandboxLimits
    from autograder.course_loader import load_course
    from autograder.layout import module_layout
    from autograder.suite_hash import suite_hash

    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    before = suite_hash(layout, SandboxLimits())
    (layout.mutants_dir / "another.py").write_text('"""x"""\nFAILS = []\n')
    (layout.solution_dir / "__pycache__").mkdir(exist_ok=True)
    (layout.solution_dir / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert suite_hash(layout, SandboxLimits()) == before
    (layout.solution_dir / "oracle.json").write_text("{}")
    with_data = suite_hash(layout, SandboxLimits())
    assert with_data != before
    (layout.solution_dir / "oracle.json").write_text('{"eps": 1}')
    assert suite_hash(layout, SandboxLimits()) != with_data


def _edit_master(layout, grade_id, change):
    nb = json.loads(layout.master.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id")
                == grade_id)
    change(cell["metadata"]["nbgrader"])
    layout.master.write_text(json.dumps(nb))


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("points"), "a graded cell without points"),
    (lambda m: m.update(points="two"), "field 'points' = 'two' is invalid"),
    (lambda m: m.update(points=-1), "field 'points' = -1 is invalid"),
    (lambda m: m.update(schema_version=4), "schema_version 4 is newer than 3"),
    (lambda m: m.update(schema_version=2), "schema_version 2 is older than 3"),
    (lambda m: m.update(grade_id="has space"), "field 'grade_id'"),
    (lambda m: m.pop("locked"), "'locked' is a required property"),
])
def test_bad_nbgrader_metadata_of_an_answer_cell_is_one_line(tiny_course, change, message):
    """nbgrader's own validator judges the metadata; each problem is one line naming the
    master and the cell."""
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    _edit_master(layout, "written_max", change)
    with pytest.raises(ConfigError, match=message) as refused:
        assign(layout, "Tiny")
    assert "\n" not in str(refused.value) and "tiny.ipynb: cell" in str(refused.value)


def test_every_metadata_problem_of_a_master_is_listed_one_line_each(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    _edit_master(layout, "written_max", lambda m: m.pop("points"))
    _edit_master(layout, "softmax", lambda m: m.update(schema_version=4))
    with pytest.raises(ConfigError) as refused:
        assign(layout, "Tiny")
    lines = str(refused.value).splitlines()
    assert len(lines) == 2
    assert any("(written_max): a graded cell without points" in ln for ln in lines)
    assert any("(softmax): nbgrader schema_version 4" in ln for ln in lines)


def test_course_assign_on_a_graded_cell_without_points_prints_one_line(tiny_course):
    from typer.testing import CliRunner

    from app.cli.main import app

    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    _edit_master(layout, "written_max", lambda m: m.pop("points"))
    stub_before = layout.stub.read_bytes() if layout.stub.is_file() else None
    out = CliRunner().invoke(app, ["--config", str(tiny_course / "course_config.py"),
                                   "assign", "tiny"])
    assert out.exit_code != 0
    lines = [ln for ln in out.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "a graded cell without points" in lines[0], out.output
    assert "Traceback" not in out.output
    assert (layout.stub.read_bytes() if layout.stub.is_file() else None) == stub_before


def test_points_on_an_nbgrader_test_cell_are_a_warning(tiny_course):
    """nbgrader would count them; this course grades with the hidden suite, so assign
    says so and goes on."""
    course = load_course(tiny_course / "course_config.py")
    layout = module_layout(course, "tiny")
    nb = json.loads(layout.master.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {
        "grade": True, "solution": False, "grade_id": "autotest", "points": 3, "locked": True,
        "schema_version": 3}}, "outputs": [], "execution_count": None,
        "source": "assert softmax is not None"})
    layout.master.write_text(json.dumps(nb))
    result = assign(layout, "Tiny")
    assert len(result.warnings) == 1
    assert "(autotest): nbgrader would count the 3 points" in result.warnings[0]
    assert layout.stub.is_file()
