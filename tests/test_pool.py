"""Pre-started grading processes (fork server): same results as fresh processes, in order."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import pytest

from autograder.config import SandboxLimits
from autograder.request import GradeRequest
from autograder.core.errors import UserError
from autograder.pool import ForkPool

from conftest import FIXTURES

pytestmark = pytest.mark.integration

TINY = FIXTURES / "tinycourse" / "solutions" / "tiny"


def test_fork_pool_grades_a_batch_in_order_with_partial_credit(tmp_path):
    stub = json.loads((TINY / "tiny.ipynb").read_text())
    for cell in stub["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "counter":
            cell["source"] = "class Counter:\n    def add(self, x):\n        while True:\n            pass\n"
    hanging = tmp_path / "hangs.ipynb"
    hanging.write_text(json.dumps(stub))
    base = GradeRequest(suite=[TINY / "test_tiny.py"], submission=TINY / "tiny.ipynb",
                        master=TINY / "tiny.ipynb", mode="sandboxed", threads=1,
                        limits=SandboxLimits(wall_seconds_per_call=2, wall_seconds_per_submission=60))
    requests = [base, dataclasses.replace(base, submission=hanging),
                dataclasses.replace(base, submission=tmp_path / "missing.ipynb"), base]
    seen: list[int] = []
    outcomes = ForkPool(workers=2).grade_all(requests, on_done=lambda i, _: seen.append(i))
    assert sorted(seen) == [0, 1, 2, 3]
    assert outcomes[0].score == outcomes[3].score == 10
    assert outcomes[1].score == 4  # softmax tests pass; Counter times out in its own test
    counter = next(t for t in outcomes[1].results["tests"] if t["name"] == "test_counter_mean")
    assert "Time limit" in counter["output"]
    assert isinstance(outcomes[2], UserError)
    # each result says how long its grading process lived, worker and time-out included
    walls = [outcomes[i].results["extra_data"]["wall_seconds"] for i in (0, 1, 3)]
    assert all(w > 0 for w in walls) and walls[1] >= 2.0  # its Counter ran into the 2 s limit
    assert walls[1] >= outcomes[1].results["execution_time"]


def test_requests_that_differ_beyond_the_submission_get_their_own_session(capfd):
    base = GradeRequest(suite=[TINY / "test_tiny.py"], submission=TINY / "tiny.ipynb",
                        master=TINY / "tiny.ipynb", mode="sandboxed", threads=1,
                        limits=SandboxLimits(wall_seconds_per_call=5, wall_seconds_per_submission=60))
    other = dataclasses.replace(base, limits=dataclasses.replace(base.limits, wall_seconds_per_call=7),
                                marker_expr="not slow")
    pool = ForkPool(workers=2)  # its imports may set variables (torch: KMP_DUPLICATE_LIB_OK)
    env = dict(os.environ)
    outcomes = pool.grade_all([base, other, base])
    assert [o.score for o in outcomes] == [10, 10, 10]
    assert dict(os.environ) == env, "the grading environment is the children's, not ours"
    out, err = capfd.readouterr()
    assert out == "" and err == "", "the pool's own pytest session must print nothing"


def test_no_conftest_above_the_suite_loads_into_grading(tmp_path):
    """pytest's default conftest cut (-c /dev/null: /dev) let every folder from / down to
    the suite add a conftest.py; grading stops at the suite's own folder."""
    import shutil

    course = tmp_path / "course"
    shutil.copytree(TINY, course / "solutions" / "tiny")
    marker = tmp_path / "conftest-ran"
    (tmp_path / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (course / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    suite = course / "solutions" / "tiny"
    req = GradeRequest(suite=[suite / "test_tiny.py"], submission=suite / "tiny.ipynb",
                       master=suite / "tiny.ipynb", mode="sandboxed", threads=1,
                       limits=SandboxLimits(wall_seconds_per_call=5, wall_seconds_per_submission=60))
    from autograder.engine import run_suite

    assert run_suite(req).score == 10
    assert ForkPool(workers=1).grade_all([req])[0].score == 10
    assert not marker.exists()


THREADS_SUITE = '''
import pytest


@pytest.mark.points(1)
def test_the_grading_process_uses_the_threads_it_was_given(submission):
    import torch
    from threadpoolctl import threadpool_info

    assert torch.get_num_threads() == 1
    assert {pool["num_threads"] for pool in threadpool_info()} == {1}
'''


def test_a_forked_grading_process_gets_its_thread_count_though_the_parent_loaded_torch(tmp_path):
    """OpenBLAS and OpenMP size their pools when loaded, in the pool's parent: each child
    must size them again, or every child runs on all cores."""
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_limits

    suite = tmp_path / "test_threads.py"
    suite.write_text(THREADS_SUITE)
    req = GradeRequest(suite=[suite], submission=TINY / "tiny.ipynb", master=TINY / "tiny.ipynb",
                       mode="trusted", threads=1, limits=SandboxLimits(wall_seconds_per_call=30))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threadpool_limits(2):
            outcome = ForkPool(workers=1, preload=("numpy", "torch")).grade_all([req])[0]
    finally:
        torch.set_num_threads(before)
    assert outcome.score == 1, outcome.results["tests"][0]["output"]


def test_a_child_past_the_whole_submission_limit_is_killed_and_keeps_finished_tests(tmp_path):
    suite = tmp_path / "slow" / "test_slow.py"
    suite.parent.mkdir()
    (suite.parent / "slow.ipynb").write_text((TINY / "tiny.ipynb").read_text())
    suite.write_text("import time\nimport pytest\n\n\n"
                     "@pytest.mark.points(1)\ndef test_quick(submission):\n    pass\n\n\n"
                     "@pytest.mark.points(1)\n@pytest.mark.time_limit(30)\n"
                     "def test_slow(submission):\n    time.sleep(30)\n")
    req = GradeRequest(suite=[suite], submission=TINY / "tiny.ipynb",
                       master=suite.parent / "slow.ipynb", mode="trusted", threads=1,
                       limits=SandboxLimits(wall_seconds_per_call=3, wall_seconds_per_submission=3),
                       startup_grace_s=0.5)
    started = time.monotonic()
    (outcome,) = ForkPool(workers=1).grade_all([req])
    assert time.monotonic() - started < 15, "the parent must wake at the deadline, not wait"
    statuses = {t["name"]: (t["score"], t["output"]) for t in outcome.results["tests"]}
    assert statuses["test_quick"][0] == 1
    assert statuses["test_slow"][0] == 0
    assert "longer than its limit of 3 s" in statuses["test_slow"][1], statuses
