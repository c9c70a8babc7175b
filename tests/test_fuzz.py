"""Fuzzing the inputs users hand us: notebooks (parse and extract) and CSVs (roster,
scores, LMS worksheets). Every input either works or fails with one clear UserError /
NotebookError line that names the file; nothing else may escape.

`make test` runs 100 examples per property (profile `ci`); the extended profile runs
1,000: HYPOTHESIS_PROFILE=extended .venv/bin/pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from autograder.course_loader import load_course
from autograder.core.errors import UserError
from autograder.core.extract import extract
from autograder.core.notebook_io import NotebookError, parse_notebook, read_notebook
from gradebook.collect import read_times
from gradebook.models import Student
from gradebook.roster import read_roster
from gradebook.scores import read_scores

from conftest import FIXTURES

settings.register_profile("ci", max_examples=100, deadline=None, database=None,
                          derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
settings.register_profile("extended", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MASTER = read_notebook(FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb")
COURSE = load_course(FIXTURES / "tinycourse" / "course_config.py")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | \
    st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)
python_lines = st.sampled_from([
    "import numpy as np", "def softmax(x):\n    return x", "class Counter:\n    pass",
    "x = 1", "print('hi')", "%matplotlib inline", "!pip install torch", "def broken(:",
    "raise SystemExit", "while True: pass", "EPS = 1e-8", "\x00", "def f():\n\treturn 1",
    "async def g(): pass", "lambda: 0", "@decorator\ndef h(): pass", "",
])
cell_meta = st.fixed_dictionaries({}, optional={
    "nbgrader": st.fixed_dictionaries({}, optional={
        "grade_id": st.sampled_from(["softmax", "counter", "imports", "written_max", "x", ""])
        | json_values,
        "solution": st.booleans() | json_values, "locked": st.booleans() | json_values,
        "grade": st.booleans(), "points": json_values}),
    "tags": st.lists(st.sampled_from(["demo", "x"]), max_size=2) | json_values})
cells = st.fixed_dictionaries({
    "cell_type": st.sampled_from(["code", "markdown", "raw"]) | json_values,
    "source": st.lists(python_lines, max_size=4).map("\n".join)
    | st.lists(python_lines, max_size=3) | json_values,
    "metadata": cell_meta | json_values,
})
notebooks = st.fixed_dictionaries({
    "cells": st.lists(cells, max_size=6) | json_values,
    "nbformat": st.sampled_from([4, 4, 4, 3, "4"]) | json_values,
    "metadata": st.just({}) | json_values,
}, optional={"nbformat_minor": json_values})


def _clear(message: str) -> None:
    assert message and "\n" not in message.strip() and "Traceback" not in message


@given(notebooks)
def test_any_notebook_structure_parses_and_extracts_or_fails_clearly(data):
    raw = json.dumps(data).encode()
    try:
        nb = parse_notebook(raw, "sub.ipynb")
    except NotebookError as exc:
        _clear(str(exc))
        assert str(exc).startswith("sub.ipynb:")
        return
    result = extract(nb, MASTER)
    compile(result.render(), "submission.py", "exec")  # what the loader runs must parse


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_are_a_notebook_error(raw):
    try:
        parse_notebook(raw, "sub.ipynb")
    except NotebookError as exc:
        _clear(str(exc))


csv_cells = st.text(alphabet=string.printable + "äöü€\u00a0", max_size=12)
csv_rows = st.lists(st.lists(csv_cells, min_size=1, max_size=5), max_size=6)
headers = st.sampled_from([["id", "name", "email"], ["id", "name", "email", "lms_id"],
                           ["student", "points"], ["id", "points", "comment"],
                           ["Identifier", "Last modified (submission)"],
                           ["student", "submitted_at"], ["x"]])


def _csv(header: list[str], rows: list[list[str]], sep: str) -> bytes:
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@given(headers, csv_rows, st.sampled_from([",", ";", "\t"]), st.booleans())
def test_roster_csvs_import_or_fail_clearly(tmp_path_factory, header, rows, sep, garble):
    path = tmp_path_factory.mktemp("csv") / "students.csv"
    content = _csv(header, rows, sep)
    path.write_bytes(content[: len(content) // 2] + b"\xff\xfe" if garble else content)
    try:
        read_roster(path)
    except UserError as exc:
        _clear(str(exc))
        assert "students.csv" in str(exc)


@given(headers, csv_rows, st.sampled_from(["presentation", "bonus", "written"]))
def test_score_csvs_import_or_fail_clearly(tmp_path_factory, header, rows, component):
    path = tmp_path_factory.mktemp("csv") / "scores.csv"
    path.write_bytes(_csv(header, rows, ","))
    slug = "tiny" if component == "written" else None
    try:
        read_scores(path, COURSE, component, slug, {"s1", "s2"})
    except UserError as exc:
        _clear(str(exc))
        assert "scores.csv" in str(exc)


@given(headers, csv_rows)
def test_lms_worksheets_import_or_fail_clearly(tmp_path_factory, header, rows):
    path = tmp_path_factory.mktemp("csv") / "worksheet.csv"
    path.write_bytes(_csv(header, rows, ","))
    students = [Student(id="s1", name="Ada", email="ada@uni.de", lms_id="101")]
    try:
        read_times(path, "Europe/Berlin", students)
    except UserError as exc:
        _clear(str(exc))
        assert "worksheet.csv" in str(exc)
