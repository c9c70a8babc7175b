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


@pytest.mark.integration
def test_threshold_judgements_are_asserted_and_recorded(pytester):
    _, doc = run(pytester, """
        import pytest

        @pytest.mark.points(2)
        @pytest.mark.slow
        def test_learns(submission, threshold):
            threshold.at_least("accuracy", 0.93, 0.9, "accuracy must reach 0.9")
            threshold.at_most("loss", 0.4, 0.5, "the loss must fall below 0.5")

        @pytest.mark.points(1)
        def test_does_not_learn(submission, threshold):
            threshold.at_most("loss", 3.0, 0.5, "the loss must fall below 0.5")
            threshold.at_least("never reached", 1.0, 0.0, "not judged after a failure")
    """)
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["test_learns"]["score"] == 2
    assert tests["test_does_not_learn"]["output"] == "the loss must fall below 0.5"
    measured = [(m["test"], m["name"], m["value"], m["limit"], m["direction"])
                for m in doc["extra_data"]["measurements"]]
    assert measured == [("test_learns", "accuracy", 0.93, 0.9, "at_least"),
                        ("test_learns", "loss", 0.4, 0.5, "at_most"),
                        ("test_does_not_learn", "loss", 3.0, 0.5, "at_most")]


SHIFT_SUITE = """
    import random
    import numpy as np
    import pytest
    import torch

    def draws():
        return [torch.manual_seed(0) and float(torch.rand(1)),
                float(torch.rand(1, generator=torch.Generator().manual_seed(0))),
                float(np.random.default_rng(0).random()),
                (np.random.seed(0), float(np.random.random()))[1],
                (random.seed(0), random.random())[1]]

    @pytest.mark.slow
    @pytest.mark.points(1)
    def test_slow(submission, threshold):
        for i, value in enumerate(draws()):
            threshold.at_least(f"draw {i}", value, 0.0, "a number")

    @pytest.mark.points(1)
    def test_fast(submission, threshold):
        for i, value in enumerate(draws()):
            threshold.at_least(f"draw {i}", value, 0.0, "a number")
"""


@pytest.mark.integration
def test_a_seed_shift_moves_every_generator_of_slow_tests_only(pytester):
    def values(**fields):
        _, doc = run(pytester, SHIFT_SUITE, **fields)
        assert doc["score"] == 2
        return {test: [m["value"] for m in doc["extra_data"]["measurements"] if m["test"] == test]
                for test in ("test_slow", "test_fast")}

    plain, shifted, again = values(), values(seed_shift=3), values(seed_shift=3)
    assert shifted == again  # a shift is repeatable
    assert shifted["test_fast"] == plain["test_fast"] == plain["test_slow"]
    assert all(a != b for a, b in zip(shifted["test_slow"], plain["test_slow"]))
    other = values(seed_shift=4)
    assert all(a != b for a, b in zip(other["test_slow"], shifted["test_slow"]))


def test_a_seed_shift_is_refused_outside_trusted_mode(tmp_path):
    from autograder.core.errors import GraderError

    with pytest.raises(GraderError, match="trusted"):
        GradeRequest(suite=(tmp_path / "t.py",), submission=tmp_path / "s.py",
                     master=tmp_path / "m.ipynb", mode="sandboxed", seed_shift=1)


@pytest.mark.integration
@pytest.mark.parametrize("points, grader_error", [(2, False), (3, True)])
def test_worker_reported_tests_carry_at_most_two_points(pytester, points, grader_error):
    _, doc = run(pytester, f"""
        import pytest

        @pytest.mark.points({points - 1})
        @pytest.mark.worker_reported
        def test_one(submission):
            assert submission.add(1, 1) == 2, "add"

        @pytest.mark.points(1)
        @pytest.mark.worker_reported
        def test_two(submission):
            assert submission.add(1, 2) == 3, "add"
    """)
    assert (doc["extra_data"]["outcome"] == "grader_error") == grader_error
    if grader_error:
        assert "worker_reported tests carry 3 points" in doc["extra_data"]["grader_errors"][0]
    else:
        assert all("worker_reported" in t["tags"] for t in doc["tests"])


PROBE_STUDENT = STUDENT + textwrap.dedent("""\
    def scale_in_place(grads, factor):
        for g in grads.values():
            g.mul_(factor)
        return grads

    def scale(grads, factor):
        return {k: g * factor for k, g in grads.items()}

    def step(model, x):
        import torch
        with torch.no_grad():
            model.weight.add_(x.sum())
    """)

PROBE_SUITE = """
    import pytest
    import torch

    @pytest.mark.points(1)
    def test_probe(submission, recipe):
        probe = recipe("arguments_probe")
        grads = {"w": torch.ones(3), "b": torch.zeros(2)}
        # b is zero, so doubling it in place leaves the same bits: only w changed
        assert probe.changed(submission.scale_in_place, grads, 2.0) == ["args[0]['w']"], "in place"
        assert probe.changed(submission.scale, grads, 2.0) == [], "a new dict"
        assert probe.changed(submission.step, recipe("torch.nn.Linear", 2, 2), torch.ones(2)) \\
            == ["args[0].weight"], "a module's parameter"
"""


@pytest.mark.integration
def test_the_arguments_probe_names_what_a_call_changed_in_place(pytester):
    _, doc = run(pytester, PROBE_SUITE, submission=PROBE_STUDENT)
    assert doc["score"] == 1, doc["tests"][0]["output"]


@pytest.mark.integration
def test_the_arguments_probe_works_in_the_sandboxed_worker(tmp_path):
    from autograder.engine import run_suite

    (tmp_path / "test_suite.py").write_text(textwrap.dedent(PROBE_SUITE))
    module = tmp_path / "submission.py"
    module.write_text(PROBE_STUDENT)
    master = Path(__file__).parent / "fixtures" / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    doc = run_suite(GradeRequest(suite=[tmp_path / "test_suite.py"], submission=module,
                                 master=master, mode="sandboxed")).results
    assert not doc["extra_data"]["sandbox"].startswith("none")
    assert doc["score"] == 1, doc["tests"][0]["output"]


def test_the_arguments_probe_reads_an_optimizer_argument_without_failing():
    import torch

    from autograder.core.recipes import build_recipe

    probe = build_recipe("arguments_probe", (), {})
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)

    def step(model, optimizer, x):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()

    assert probe.changed(step, model, optimizer, torch.ones(2)) == ["args[0].bias", "args[0].weight"]
    assert probe.changed(lambda *args: None, model, optimizer, torch.ones(2)) == []
