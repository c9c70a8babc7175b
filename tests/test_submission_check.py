"""check_submission: a notebook of this module is accepted (with warnings), others refused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from autograder.core.errors import UserError
from autograder.course_loader import load_course
from autograder.layout import module_layout
from conftest import REPO
from gradebook import submission_check
from gradebook.submission_check import MAX_JSON_DEPTH, check_depth, check_submission


@pytest.fixture
def tiny(tiny_course: Path):
    return load_course(tiny_course / "course_config.py")


@pytest.fixture(scope="module")
def real():
    return load_course(REPO / "course_config.py")


def master_json(course, slug: str) -> dict:
    return json.loads(module_layout(course, slug).master.read_bytes())


def cell_of(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def dump(nb: dict) -> bytes:
    return json.dumps(nb).encode()


# --- accepted ---------------------------------------------------------------------------

def test_the_master_itself_has_no_warnings(tiny):
    content = module_layout(tiny, "tiny").master.read_bytes()
    assert check_submission(tiny, "tiny", content, "tiny.ipynb").warnings == ()


def test_the_assignment_notebooks_of_the_real_course_have_no_warnings(real):
    for module in real.modules:
        stub = module_layout(real, module.slug).stub
        if stub.exists():
            assert check_submission(real, module.slug, stub.read_bytes(), stub.name).warnings \
                == (), module.slug


def test_a_deleted_answer_cell_is_a_warning(tiny):
    nb = master_json(tiny, "tiny")
    nb["cells"].remove(cell_of(nb, "softmax"))
    check = check_submission(tiny, "tiny", dump(nb), "hw.ipynb")
    assert check.warnings == ("answer cell 'softmax' is missing: it will be graded as empty",)


def test_a_retyped_answer_cell_is_a_warning(tiny):
    nb = master_json(tiny, "tiny")
    cell = cell_of(nb, "written_max")
    cell["cell_type"], cell["outputs"], cell["execution_count"] = "code", [], None
    counter = cell_of(nb, "counter")
    counter["cell_type"] = "markdown"
    del counter["outputs"], counter["execution_count"]
    assert check_submission(tiny, "tiny", dump(nb), "hw.ipynb").warnings == (
        "answer cell 'counter' was changed from a code cell to a markdown cell",
        "answer cell 'written_max' was changed from a markdown cell to a code cell")


def test_a_five_megabyte_notebook_is_fine(tiny):
    nb = master_json(tiny, "tiny")
    cell = cell_of(nb, "softmax")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                        "text": ["[{\"quoted brackets\": [[[[[[[[\\\"]]]\n"] * 120_000}]
    nb["cells"] += [{"cell_type": "markdown", "source": [f"note {i}\n"], "metadata": {}}
                    for i in range(5000)]
    content = dump(nb)
    assert len(content) > 5 * 2**20
    started = time.perf_counter()
    assert check_submission(tiny, "tiny", content, "big.ipynb").warnings == ()
    assert time.perf_counter() - started < 2


def test_the_master_is_parsed_once_per_version(tiny, monkeypatch):
    calls = []
    real_parse = submission_check.parse_notebook
    monkeypatch.setattr(submission_check, "parse_notebook",
                        lambda raw, name: calls.append(name) or real_parse(raw, name))
    submission_check._master_cells.cache_clear()
    master = module_layout(tiny, "tiny").master
    content = master.read_bytes()
    for _ in range(3):
        check_submission(tiny, "tiny", content, "hw.ipynb")
    assert calls.count(str(master)) == 1
    nb = json.loads(content)
    nb["cells"].remove(cell_of(nb, "counter"))
    master.write_bytes(dump(nb))
    stat = master.stat()
    os.utime(master, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert check_submission(tiny, "tiny", content, "hw.ipynb").warnings == ()
    assert calls.count(str(master)) == 2


# --- refused ----------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"not json at all", b"\xff\xfe\x00", b"[1, 2, 3]",
                                     b'{"cells": "no"}', b'{"cells": [], "nbformat": 3}', b""])
def test_a_file_that_is_not_a_notebook_is_refused(tiny, content):
    with pytest.raises(UserError, match=r"^this is not a Jupyter notebook \(hw.ipynb: "):
        check_submission(tiny, "tiny", content, "hw.ipynb")


def test_a_notebook_without_the_modules_cells_is_refused(tiny):
    nb = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {},
                     "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with pytest.raises(UserError, match="none of module tiny's answer cells; download the "
                                        "assignment notebook"):
        check_submission(tiny, "tiny", dump(nb), "hw.ipynb")


def test_another_modules_notebook_is_refused_naming_it(real):
    content = module_layout(real, "transformer").master.read_bytes()
    with pytest.raises(UserError, match=r"^this looks like the notebook of module transformer "
                                        r"\(A GPT from scratch\); upload it there$"):
        check_submission(real, "vae", content, "transformer.ipynb")


def test_a_notebook_with_a_few_of_another_modules_cells_is_not_named(real):
    nb = master_json(real, "transformer")
    nb["cells"] = [cell_of(nb, "causal_mask")]
    with pytest.raises(UserError, match="none of module vae's answer cells"):
        check_submission(real, "vae", dump(nb), "hw.ipynb")


def test_one_cell_of_this_module_is_enough_to_accept_with_warnings(real):
    nb = master_json(real, "transformer")
    nb["cells"].append(cell_of(master_json(real, "vae"), "elbo"))
    warnings = check_submission(real, "vae", dump(nb), "hw.ipynb").warnings
    assert "answer cell 'elbo' is missing: it will be graded as empty" not in warnings
    assert "answer cell 'vae' is missing: it will be graded as empty" in warnings


# --- nesting ----------------------------------------------------------------------------

def test_deep_nesting_is_refused_fast_before_json_loads(tiny, monkeypatch):
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("json.loads ran"))
    for content in (b"[" * 2**20, b'{"a":' * 100_000, b"[" * 2**20 + b"]" * 2**20):
        started = time.perf_counter()
        with pytest.raises(UserError, match="nests JSON deeper than 64 levels; it is not a "
                                            "Jupyter notebook"):
            check_submission(tiny, "tiny", content, "deep.ipynb")
        assert time.perf_counter() - started < 1


def test_depth_counts_brackets_outside_strings_only():
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    check_depth(at_limit)
    with pytest.raises(UserError):
        check_depth(b"[" + at_limit + b"]")
    check_depth(b'["' + b"[" * 1000 + b'"]')
    check_depth(b'["\\"' + b"{" * 1000 + b'"]')  # an escaped quote does not end the string
    with pytest.raises(UserError):
        check_depth(b'["\\\\"' + b"{" * 1000)  # an escaped backslash does
    check_depth(b"[]" * 100_000)
    check_depth(b"")
