"""Notebook -> submission module: the grading contract, on good and bad notebooks."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from autograder.core.extract import extract, filter_cell
from autograder.core.loader import load_blocks
from autograder.core.notebook_io import NotebookError, from_dict, parse_notebook, read_notebook

from conftest import FIXTURES

MASTER = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"


@pytest.fixture
def master():
    return read_notebook(MASTER)


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _load(tmp_path: Path, extraction, name="submission_under_test"):
    path = tmp_path / "sub.py"
    path.write_text(extraction.render())
    return load_blocks(path, name)


def test_master_against_itself_keeps_every_definition(master, tmp_path):
    ex = extract(master, master)
    assert not ex.problems and not ex.integrity_flags
    loaded = _load(tmp_path, ex)
    assert not loaded.errors
    assert loaded.module.softmax.__name__ == "softmax"
    assert loaded.module.EPS == 1e-8  # the locked cell's constant
    assert [b.label for b in ex.blocks] == ["cell 'imports'", "cell 'softmax'", "cell 'counter'"]


def test_only_imports_defs_classes_and_literals_survive(tmp_path):
    src = ("import os\nfrom math import pi\nX = 3\nY: int = 4\nZ = [1, 2]\nW = os.getcwd()\n"
           "print('hi')\nfor i in range(3):\n    pass\n@staticmethod\ndef f():\n    return X\n"
           "class C:\n    a = print('body kept')\n")
    kept, dropped, error = filter_cell(src, "cell 'a'")
    assert error is None
    lines = kept.split("\n")
    assert lines[0] == "import os" and lines[2] == "X = 3" and lines[3] == "Y: int = 4"
    assert lines[5] == "" and lines[6] == ""  # W = os.getcwd() and print dropped in place
    assert "@staticmethod" in kept and "def f():" in kept and "class C:" in kept
    assert any("line 6: `W = os.getcwd()`" in d for d in dropped)
    assert any("line 7: `print('hi')`" in d for d in dropped)
    assert any("line 8: `for i in range(3):`" in d for d in dropped)


def test_magics_and_shell_lines_are_dropped():
    kept, dropped, error = filter_cell("%matplotlib inline\n!pip install x\ndef f():\n    return 1", "c")
    assert error is None and "def f" in kept and "pip" not in kept and len(dropped) == 2
    kept, dropped, error = filter_cell("%%time\ndef g():\n    pass", "c")
    assert kept == "" and error is None


def test_semicolon_lines_keep_only_the_definition_part():
    kept, dropped, _ = filter_cell("import os; os.system('rm -rf /')", "c")
    assert kept.strip() == "import os"
    assert dropped


def test_extraction_never_executes_code(master, tmp_path):
    marker = tmp_path / "executed"
    sub = copy.deepcopy(master)
    _cell(sub, "softmax").source = (f"open({str(marker)!r}, 'w').write('x')\n"
                                    "def softmax(x):\n    return x\n")
    ex = extract(sub, master)
    assert not marker.exists()
    loaded = _load(tmp_path, ex)
    assert not marker.exists(), "the top-level open() must have been dropped"
    assert loaded.module.softmax(1) == 1


def test_locked_cells_come_from_the_master_and_edits_are_flagged(master, tmp_path):
    sub = copy.deepcopy(master)
    _cell(sub, "imports").source = "import numpy as np\nEPS = 1.0"
    ex = extract(sub, master)
    assert _load(tmp_path, ex).module.EPS == 1e-8
    assert any("locked cell 'imports' was edited" in f for f in ex.integrity_flags)


def test_a_deleted_locked_cell_is_restored_in_place(master, tmp_path):
    sub = copy.deepcopy(master)
    sub.cells = [c for c in sub.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "imports"]
    ex = extract(sub, master)
    assert ex.blocks[0].label == "cell 'imports'"
    assert any("deleted" in f for f in ex.integrity_flags)
    assert not _load(tmp_path, ex).errors


def test_missing_and_retyped_answer_cells_are_reported_per_question(master):
    sub = copy.deepcopy(master)
    sub.cells = [c for c in sub.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "counter"]
    _cell(sub, "softmax").cell_type = "markdown"
    ex = extract(sub, master)
    assert "missing" in ex.problems["counter"]
    assert "changed to a markdown cell" in ex.problems["softmax"]


def test_a_syntax_error_costs_only_its_own_question(master, tmp_path):
    sub = copy.deepcopy(master)
    _cell(sub, "softmax").source = "def softmax(x:\n    return x"
    ex = extract(sub, master)
    assert "syntax error on line 1" in ex.problems["softmax"]
    loaded = _load(tmp_path, ex)
    assert hasattr(loaded.module, "Counter") and not hasattr(loaded.module, "softmax")


def test_duplicate_grade_ids_grade_the_first_and_flag_the_copy(master, tmp_path):
    sub = copy.deepcopy(master)
    copy_cell = copy.deepcopy(_cell(sub, "softmax"))
    copy_cell.source = "def softmax(x):\n    return 'second'"
    sub.cells.append(copy_cell)
    ex = extract(sub, master)
    assert "appears twice" in ex.problems["softmax"]
    assert _load(tmp_path, ex).module.softmax.__doc__  # the first (documented) one


def test_student_added_cells_contribute_definitions_and_demo_cells_do_not(master, tmp_path):
    sub = copy.deepcopy(master)
    sub.cells.append(from_dict({"cell_type": "code", "source": "def helper():\n    return 42\nhelper()",
                      "metadata": {}, "outputs": [], "execution_count": None}))
    sub.cells.append(from_dict({"cell_type": "code", "source": "def demo_only():\n    pass",
                      "metadata": {"tags": ["demo"]}, "outputs": [], "execution_count": None}))
    ex = extract(sub, master)
    module = _load(tmp_path, ex).module
    assert module.helper() == 42 and not hasattr(module, "demo_only")
    assert any("helper()" in d for d in ex.dropped)


def test_a_cell_that_fails_at_load_time_does_not_take_the_others_down(master, tmp_path):
    sub = copy.deepcopy(master)
    _cell(sub, "softmax").source = "import not_a_real_module_xyz\ndef softmax(x):\n    return x"
    loaded = _load(tmp_path, extract(sub, master))
    assert "ModuleNotFoundError" in loaded.errors["cell 'softmax'"]
    assert "(line 1)" in loaded.errors["cell 'softmax'"]
    assert loaded.module.Counter().mean() == 0


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "not valid notebook JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps({"nbformat": 3, "cells": []}).encode(), "nbformat version 3 is not supported"),
    (json.dumps({"nbformat": 4}).encode(), "not a Jupyter notebook"),
    (json.dumps([1, 2]).encode(), "not a Jupyter notebook"),
    (json.dumps({"nbformat": 4, "cells": [{"cell_type": "bogus"}]}).encode(), "cell 1 is malformed"),
    (json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}).encode(),
     "malformed source"),
])
def test_bad_notebooks_give_one_clear_line(raw, fragment):
    with pytest.raises(NotebookError) as err:
        parse_notebook(raw, "sub.ipynb")
    assert fragment in str(err.value) and str(err.value).startswith("sub.ipynb")
    assert "\n" not in str(err.value)


def test_oversized_and_missing_files(tmp_path):
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    with pytest.raises(NotebookError, match="over the 1 MB limit"):
        read_notebook(big, max_mb=1)
    with pytest.raises(NotebookError, match="no such file"):
        read_notebook(tmp_path / "nope.ipynb")
