"""The commands end to end on the tiny numpy course (real grading subprocesses)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from autograder.engine import pytest_command, run_suite
from autograder.request import GradeRequest
from autograder.config import SandboxLimits


def _assign(course_cli, course):
    result = course_cli(course / "course_config.py", "assign", "tiny")
    assert result.exit_code == 0, result.output


@pytest.mark.integration
def test_grade_notebook_reference_gets_full_marks_and_writes_results(tiny_course, course_cli, tmp_path):
    out = tmp_path / "r.json"
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    result = course_cli(tiny_course / "course_config.py", "grade-notebook", "tiny", str(master),
                        "--results", str(out))
    assert result.exit_code == 0, result.output
    assert "Total: 10 / 10" in result.output
    doc = json.loads(out.read_text())
    assert doc["score"] == doc["max_score"] == 10
    assert doc["extra_data"]["outcome"] == "graded" and len(doc["extra_data"]["suite_hash"]) == 64


@pytest.mark.integration
def test_grade_notebook_stub_scores_zero_but_exits_zero(tiny_course, course_cli):
    _assign(course_cli, tiny_course)
    stub = tiny_course / "assignments" / "tiny" / "tiny.ipynb"
    result = course_cli(tiny_course / "course_config.py", "grade-notebook", "tiny", str(stub))
    assert result.exit_code == 0
    assert "Total: 0 / 10" in result.output and "Not implemented yet" in result.output


def test_grade_notebook_usage_errors_are_one_line(tiny_course, course_cli):
    cfg = tiny_course / "course_config.py"
    missing = course_cli(cfg, "grade-notebook", "tiny", str(tiny_course / "nope.ipynb"))
    assert missing.exit_code == 2 and "no such notebook" in missing.output
    unknown = course_cli(cfg, "grade-notebook", "nope", "x.ipynb")
    assert unknown.exit_code == 2 and "unknown module 'nope'" in unknown.output
    master = str(tiny_course / "solutions" / "tiny" / "tiny.ipynb")
    trusted_gpu = course_cli(cfg, "grade-notebook", "tiny", master, "--trusted", "--device", "cuda")
    assert trusted_gpu.exit_code == 2 and "cuda needs the sandbox" in trusted_gpu.output
    assert "Traceback" not in missing.output + unknown.output + trusted_gpu.output


@pytest.mark.integration
def test_grade_notebook_grader_error_exits_three(tiny_course, course_cli):
    suite = tiny_course / "solutions" / "tiny" / "test_tiny.py"
    suite.write_text(suite.read_text() + "\nimport a_module_that_does_not_exist\n")
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    result = course_cli(tiny_course / "course_config.py", "grade-notebook", "tiny", str(master))
    assert result.exit_code == 3 and "grader error" in result.output


@pytest.mark.integration
def test_check_runs_public_tests_with_the_slug_from_the_notebook(tiny_course, course_cli):
    _assign(course_cli, tiny_course)
    nb = tiny_course / "assignments" / "tiny" / "tiny.ipynb"
    doc = json.loads(nb.read_text())
    for cell in doc["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax":
            cell["source"] = "def softmax(x):\n    return x / x.sum(axis=-1, keepdims=True)\n"
    mine = tiny_course / "mine.ipynb"
    mine.write_text(json.dumps(doc))
    result = course_cli(tiny_course / "course_config.py", "check", str(mine))
    assert result.exit_code == 0, result.output
    assert "test_public_softmax_shape" in result.output and "passed" in result.output


def test_check_without_slug_asks_for_one(tiny_course, course_cli):
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    result = course_cli(tiny_course / "course_config.py", "check", str(master))
    assert result.exit_code == 2 and "--slug" in result.output


@pytest.mark.integration
def test_validate_passes_on_a_good_module_and_fails_on_an_uncaught_mutant(tiny_course, course_cli):
    cfg = tiny_course / "course_config.py"
    _assign(course_cli, tiny_course)
    good = course_cli(cfg, "validate", "tiny", "--no-execute")
    assert good.exit_code == 0, good.output
    assert "mutant softmax_unstable" in good.output and "0 failed" in good.output
    (tiny_course / "solutions" / "tiny" / "mutants" / "harmless.py").write_text(
        '"""Renames nothing: the suite cannot catch it."""\nFAILS = ["test_counter_mean"]\n')
    bad = course_cli(cfg, "validate", "tiny", "--no-execute")
    assert bad.exit_code == 1
    assert "NOT caught by test_counter_mean" in bad.output


@pytest.mark.integration
def test_validate_fails_a_mutant_that_costs_points_beyond_its_fails(tiny_course, course_cli):
    """One bug, one test: a mutant failing a test FAILS does not name is not caught as
    promised, even though it loses points."""
    cfg = tiny_course / "course_config.py"
    _assign(course_cli, tiny_course)
    mutants = tiny_course / "solutions" / "tiny" / "mutants"
    (mutants / "softmax_unstable.py").unlink()
    (mutants / "softmax_wrong_axis.py").write_text(
        '"""softmax over the first axis: rows do not sum to 1, and values are wrong."""\n'
        'FAILS = ["test_softmax_rows_sum_to_one"]\n\nimport numpy as np\n\n\n'
        'def softmax(x):\n    e = np.exp(x - x.max(axis=0))\n'
        '    return e / e.sum(axis=0, keepdims=True)\n')
    out = course_cli(cfg, "validate", "tiny", "--no-execute")
    assert out.exit_code == 1, out.output
    assert "also failed test_softmax_stable, which FAILS does not name" in out.output


@pytest.mark.integration
def test_validate_on_cuda_grades_sandboxed_and_says_when_there_is_no_gpu(tiny_course, course_cli):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: benchmarks/gpu_check.py covers the CUDA path")
    cfg = tiny_course / "course_config.py"
    _assign(course_cli, tiny_course)
    result = course_cli(cfg, "validate", "tiny", "--no-execute", "--device", "cuda")
    assert result.exit_code == 1
    assert "reference full marks" in result.output and "no usable GPU" in result.output
    assert "mutant softmax_unstable" in result.output  # graded sandboxed, so it fails too
    wrong = course_cli(cfg, "validate", "tiny", "--device", "tpu")
    assert wrong.exit_code == 2 and "use cpu or cuda" in wrong.output


@pytest.mark.integration
def test_validate_runs_the_master_and_catches_a_stale_stub(tiny_course, course_cli):
    cfg = tiny_course / "course_config.py"
    result = course_cli(cfg, "validate", "tiny")  # no assign yet: stub missing
    assert result.exit_code == 1
    assert "master runs" in result.output
    assert "course assign tiny" in result.output


@pytest.mark.integration
def test_the_grading_process_ignores_the_submission_folder(tiny_course, tmp_path):
    """A conftest.py or pytest.ini next to the notebook never loads."""
    folder = tmp_path / "student"
    folder.mkdir()
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    shutil.copy(master, folder / "sub.ipynb")
    (folder / "conftest.py").write_text("raise SystemExit('conftest loaded')\n")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = --collect-only\n")
    req = GradeRequest(suite=[tiny_course / "solutions" / "tiny" / "test_tiny.py"],
                       submission=folder / "sub.ipynb", master=master,
                       limits=SandboxLimits(wall_seconds_per_call=5, wall_seconds_per_submission=60))
    assert run_suite(req).score == 10
    cmd = pytest_command(req, tmp_path / "r.json", tmp_path)
    assert "--import-mode=importlib" in cmd and "no:cacheprovider" in cmd
    assert cmd[cmd.index("-c") + 1] == "/dev/null"


@pytest.mark.integration
def test_a_submission_over_its_total_time_keeps_the_tests_that_finished(tiny_course, tmp_path):
    suite = tmp_path / "test_slow.py"
    suite.write_text(
        "import time, pytest\n\n"
        "@pytest.mark.points(1)\ndef test_fast(submission):\n    assert submission.softmax\n\n"
        "@pytest.mark.points(1)\n@pytest.mark.time_limit(100)\n"
        "def test_slow(submission):\n    time.sleep(100)\n")
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    req = GradeRequest(suite=[suite], submission=master, master=master,
                       limits=SandboxLimits(wall_seconds_per_call=5, wall_seconds_per_submission=5),
                       startup_grace_s=0, mode="trusted")
    out = run_suite(req)
    tests = {t["name"]: t for t in out.results["tests"]}
    assert tests["test_fast"]["status"] == "passed"
    assert tests["test_slow"]["status"] == "failed" and "limit of 5 s" in tests["test_slow"]["output"]
    assert out.results["extra_data"]["timed_out"] is True and out.score == 1


@pytest.mark.integration
def test_console_script_is_installed_and_prints_help():
    exe = shutil.which("course") or str(__import__("pathlib").Path(sys.executable).parent / "course")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("assign", "grade-notebook", "check", "validate"):
        assert command in proc.stdout


@pytest.mark.integration
def test_a_process_killed_by_student_code_keeps_the_finished_tests(tiny_course, tmp_path):
    suite = tmp_path / "test_exit.py"
    suite.write_text(
        "import os, pytest\n\n"
        "@pytest.mark.points(1)\ndef test_a_fast(submission):\n    assert submission.softmax\n\n"
        "@pytest.mark.points(1)\ndef test_b_exit(submission):\n    os._exit(0)\n")
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    req = GradeRequest(suite=[suite], submission=master, master=master,
                       limits=SandboxLimits(wall_seconds_per_call=5, wall_seconds_per_submission=30),
                       mode="trusted")
    out = run_suite(req)
    tests = {t["name"]: t for t in out.results["tests"]}
    assert tests["test_a_fast"]["status"] == "passed" and out.score == 1
    assert "ended abruptly" in tests["test_b_exit"]["output"]
    assert any("exited early" in f for f in out.results["extra_data"]["integrity_flags"])
