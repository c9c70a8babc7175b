"""The pytest plugin, run in a real pytest process by pytester."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from autograder.request import GradeRequest, write_request

STUDENT = textwrap.dedent("""\
    # %% cell 'imports' [master]
    import time

    # %% cell 'add' [student]
    def add(a, b):
        return a + b

    def boom():
        raise ValueError("boom from student")

    def spin():
        while True:
            pass

    def todo():
        raise NotImplementedError()
    """)


def grading_request(pytester: pytest.Pytester, submission: Path, **fields) -> Path:
    """A trusted-mode grading request of `submission` with the suite in pytester's folder."""
    fields = {"mode": "trusted", "master": pytester.path / "master.ipynb", **fields}
    request = GradeRequest(suite=(pytester.path / "test_suite.py",), submission=submission,
                           **fields)
    return write_request(request, pytester.path / "request.json")


def run(pytester: pytest.Pytester, suite: str, submission: str = STUDENT, **fields):
    pytester.makepyfile(test_suite=textwrap.dedent(suite))
    sub = pytester.path / "student_module.py"
    sub.write_text(submission)
    out = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "-p", "autograder.plugin", "--grading-request", str(grading_request(pytester, sub, **fields)),
        "--results", str(out), "-p", "no:cacheprovider")
    return result, json.loads(out.read_text())


@pytest.mark.integration
def test_results_follow_the_gradescope_schema(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(3)
        def test_add(submission):
            assert submission.add(1, 2) == 3, "add must add"

        @pytest.mark.points(2)
        @pytest.mark.visibility("hidden")
        def test_add_wrong(submission):
            assert submission.add(2, 2) == 5, "a deliberate failure"

        def test_no_points(submission):
            assert True
    """, suite_hash="abc123")
    assert {"score", "max_score", "execution_time", "output", "tests", "extra_data"} <= set(doc)
    assert doc["score"] == 3 and doc["max_score"] == 5
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["test_add"]["status"] == "passed" and tests["test_add"]["score"] == 3
    assert tests["test_add_wrong"]["status"] == "failed" and tests["test_add_wrong"]["score"] == 0
    assert tests["test_add_wrong"]["visibility"] == "hidden"
    assert tests["test_no_points"]["max_score"] == 0
    for t in doc["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility", "tags"} <= set(t)
    extra = doc["extra_data"]
    assert extra["outcome"] == "graded" and extra["suite_hash"] == "abc123"
    assert len(extra["submission_sha256"]) == 64
    for key in ("backend", "device", "sandbox", "dropped_cells", "integrity_flags"):
        assert key in extra
    assert "trusted" in extra["sandbox"]


@pytest.mark.integration
def test_failure_messages_teach_without_leaking_expected_values(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(1)
        def test_hidden_value(submission):
            expected = 987654321
            assert submission.add(1, 1) == expected, "add(1, 1) is wrong: check the sum"

        @pytest.mark.points(1)
        def test_bare_assert(submission):
            assert submission.add(1, 1) == 987654321
    """)
    outputs = {t["name"]: t["output"] for t in doc["tests"]}
    assert outputs["test_hidden_value"] == "add(1, 1) is wrong: check the sum"
    assert "987654321" not in json.dumps(doc["tests"])


@pytest.mark.integration
def test_student_exceptions_name_the_cell_and_line(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(1)
        def test_boom(submission):
            submission.boom()

        @pytest.mark.points(1)
        def test_todo(submission):
            submission.todo()

        @pytest.mark.points(1)
        def test_missing(submission):
            submission.not_defined_anywhere(1)
    """)
    out = {t["name"]: t["output"] for t in doc["tests"]}
    assert "ValueError: boom from student" in out["test_boom"]
    assert "cell 'add', line 5" in out["test_boom"]
    assert out["test_todo"].startswith("Not implemented yet") and "cell 'add', line 12" in out["test_todo"]
    assert "does not define `not_defined_anywhere`" in out["test_missing"]
    assert doc["extra_data"]["outcome"] == "graded"


@pytest.mark.integration
def test_time_limit_fails_only_the_slow_test(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(1)
        @pytest.mark.time_limit(0.5)
        def test_spin(submission):
            submission.spin()

        @pytest.mark.points(1)
        def test_add(submission):
            assert submission.add(1, 1) == 2
    """)
    out = {t["name"]: t for t in doc["tests"]}
    assert out["test_spin"]["status"] == "failed" and "Time limit" in out["test_spin"]["output"]
    assert out["test_add"]["status"] == "passed" and doc["score"] == 1


@pytest.mark.integration
@pytest.mark.parametrize("suite, fragment", [
    ("""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("suite bug")

        @pytest.mark.points(1)
        def test_x(submission, broken):
            pass
    """, "RuntimeError: suite bug"),
    ("def test_x(:\n    pass\n", "collecting"),
    ("""
        import pytest
        from autograder.core.errors import GraderError

        @pytest.mark.points(1)
        def test_x(submission):
            raise GraderError("oracle file missing")
    """, "oracle file missing"),
    ("""
        import pytest

        @pytest.mark.gpu
        @pytest.mark.points(2)
        def test_x(submission):
            pass
    """, "may carry no points"),
    ("""
        import pytest

        @pytest.mark.visibility("secret")
        def test_x(submission):
            pass
    """, "visibility 'secret'"),
])
def test_grader_errors_are_not_results(pytester, suite, fragment):
    _, doc = run(pytester, suite)
    assert doc["extra_data"]["outcome"] == "grader_error"
    assert any(fragment in e for e in doc["extra_data"]["grader_errors"])


@pytest.mark.integration
def test_an_unreadable_notebook_is_a_student_outcome(pytester):
    bad = pytester.path / "bad.ipynb"
    bad.write_text("{oops")
    pytester.makepyfile(test_suite="""
        import pytest

        @pytest.mark.points(4)
        def test_x(submission):
            pass
    """)
    master = pytester.path / "master.ipynb"
    master.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    out = pytester.path / "r.json"
    pytester.runpytest_subprocess(
        "-p", "autograder.plugin", "--results", str(out),
        "--grading-request", str(grading_request(pytester, bad, master=master)))
    doc = json.loads(out.read_text())
    assert doc["extra_data"]["outcome"] == "graded" and doc["score"] == 0 and doc["max_score"] == 4
    assert "could not be read" in doc["tests"][0]["output"]


@pytest.mark.integration
def test_gpu_tests_without_points_are_skipped_and_listed(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.gpu
        def test_cuda_path(submission):
            pass

        @pytest.mark.points(1)
        def test_add(submission):
            assert submission.add(2, 3) == 5
    """)
    names = [t["name"] for t in doc["tests"]]
    if doc["extra_data"]["device"] == "cpu":
        assert names == ["test_add"]
        assert doc["extra_data"]["skipped"] == ["test_cuda_path: needs a CUDA GPU"]


@pytest.mark.integration
def test_markers_are_registered_for_strict_markers(pytester):
    pytester.makepyfile(test_m="""
        import pytest

        @pytest.mark.points(1)
        @pytest.mark.visibility("visible")
        @pytest.mark.time_limit(3)
        @pytest.mark.slow
        def test_x():
            pass
    """)
    sub = pytester.path / "student_module.py"
    sub.write_text(STUDENT)
    result = pytester.runpytest_subprocess("-p", "autograder.plugin", "--strict-markers",
                                           "--grading-request", str(grading_request(pytester, sub)),
                                           "-m", "not slow")
    result.assert_outcomes(deselected=1)


@pytest.mark.integration
def test_recipes_build_real_objects_in_trusted_mode(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(1)
        def test_recipe(submission, recipe):
            layer = recipe("torch.nn.Linear", 3, 2)
            assert layer.out_features == 2, "a real nn.Linear"
    """)
    assert doc["score"] == 1, doc["tests"][0]["output"]


@pytest.mark.integration
def test_cuda_in_trusted_mode_is_a_usage_error(pytester):
    pytester.makepyfile(test_suite="def test_x(submission):\n    pass\n")
    sub = pytester.path / "student_module.py"
    sub.write_text(STUDENT)
    request = GradeRequest(suite=(pytester.path / "test_suite.py",), submission=sub,
                           master=sub).to_json()
    request.update(mode="trusted", device="cuda")  # as a hand-written request file might say
    (pytester.path / "request.json").write_text(json.dumps(request))
    result = pytester.runpytest_subprocess("-p", "autograder.plugin", "--grading-request",
                                           str(pytester.path / "request.json"),
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*device cuda needs the sandbox*"])


def test_the_plugin_without_a_grading_request_is_a_usage_error(pytester):
    pytester.makepyfile(test_suite="def test_x(submission):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "autograder.plugin", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs --grading-request FILE*"])


def test_the_extracted_modules_are_removed_when_the_session_ends():
    from autograder.plugin.source import SourceLoader
    from conftest import FIXTURES

    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    loader = SourceLoader(submission=master, master=master, max_notebook_mb=20)
    loader.submission_view()
    loader.reference_module()
    assert {p.name for p in loader.workdir.iterdir()} == {"submission.py", "reference.py"}
    loader.close()  # the reference's code must not pile up in /tmp, one folder per grading
    assert not loader.workdir.exists()
