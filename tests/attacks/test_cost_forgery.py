"""Forging the cost of `nystrom_attention`: code that is cheap only while it is measured.

Each submission is the master notebook of `nystrom_attention` with one answer changed:
its `nystrom_attention` returns the right values always, but computes them with the
reference's linear-cost products only while it believes its cost is being counted
(torch's dispatch-mode stack is not empty; a `FlopCounterMode` sits in a caller's frame;
its own tiny operations run several times slower than usual, as they do under any
Python dispatch mode), and through the T x T matrix (F pinv(A) B) v otherwise, formed
at once or one block of rows at a time (quadratic time in little memory).

Graded sandboxed, with the real hidden suite and the course's limits, each must score
54 / 60: test_nystrom_cost_linear_in_T 0 with a message about the time limit or memory
(it judges the cost by one call at T = 2^18, where the T x T matrix is 256 GiB and the
chunked products take minutes, not by anything the student's process measures), and
every other test its full points. Against a suite that counted flops inside the worker
(commit 034f2e2), every one of them scored 60 / 60.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from autograder.course_loader import load_course
from autograder.engine import run_suite
from autograder.layout import module_layout
from autograder.validate import base_request

from conftest import REPO

pytestmark = pytest.mark.integration

COURSE = load_course(REPO / "course_config.py")
LAYOUT = module_layout(COURSE, "nystrom_attention")
COST_TEST = "test_nystrom_cost_linear_in_T"

HEADER = '''import sys
import time

import torch


def _cheap(q, k, v, num_landmarks, n_iter):
    """The reference's products, right to left: linear in T."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    q_land = segment_means(q, num_landmarks)
    k_land = segment_means(k, num_landmarks)
    kernel_f = torch.softmax(q @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_a = torch.softmax(q_land @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_b = torch.softmax(q_land @ k.transpose(-2, -1) * scale, dim=-1)
    return kernel_f @ (iterative_pinv(kernel_a, n_iter) @ (kernel_b @ v))


def _kernels(q, k, v, num_landmarks, n_iter):
    scale = 1.0 / math.sqrt(q.shape[-1])
    q_land = segment_means(q, num_landmarks)
    k_land = segment_means(k, num_landmarks)
    kernel_f = torch.softmax(q @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_a = torch.softmax(q_land @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_b = torch.softmax(q_land @ k.transpose(-2, -1) * scale, dim=-1)
    return kernel_f @ iterative_pinv(kernel_a, n_iter), kernel_b  # (..., T, m), (..., m, T)


def _quadratic(q, k, v, num_landmarks, n_iter):
    """The same values through the T x T matrix (F pinv(A) B), formed at once."""
    fz, kernel_b = _kernels(q, k, v, num_landmarks, n_iter)
    return (fz @ kernel_b) @ v


def _quadratic_chunked(q, k, v, num_landmarks, n_iter):
    """The same values through the T x T matrix, 1024 of its rows at a time."""
    fz, kernel_b = _kernels(q, k, v, num_landmarks, n_iter)
    rows = [(fz[..., i:i + 1024, :] @ kernel_b) @ v for i in range(0, fz.shape[-2], 1024)]
    return torch.cat(rows, dim=-2)


_BEST = {"seconds": 1.0}


def _op_seconds():
    """The best of 10 runs of 200 tiny additions (6x slower under FlopCounterMode)."""
    x = torch.zeros(1)
    best = 1.0
    for _ in range(10):
        start = time.perf_counter()
        for _ in range(200):
            x = x + 1
        best = min(best, time.perf_counter() - start)
    return best


def _counted_by_mode_stack():
    return torch._C._len_torch_dispatch_stack() > 0 or (
        torch.utils._python_dispatch._get_current_dispatch_mode() is not None)


def _counted_by_frames():
    frame = sys._getframe(1)
    while frame is not None:
        if any("FlopCounterMode" in type(value).__name__ for value in frame.f_locals.values()):
            return True
        frame = frame.f_back
    return False


def _counted_by_timing():
    seconds = _op_seconds()
    _BEST["seconds"] = min(_BEST["seconds"], seconds)
    return seconds > 3 * _BEST["seconds"]

'''

BODY = '''
def nystrom_attention(q, k, v, num_landmarks, n_iter=6):
    """Cheap while counted, quadratic otherwise."""
    if {detect}():
        return _cheap(q, k, v, num_landmarks, n_iter)
    return {slow}(q, k, v, num_landmarks, n_iter)
'''

VARIANTS = {  # name: (detection, quadratic implementation)
    "mode_stack": ("_counted_by_mode_stack", "_quadratic"),
    "frames": ("_counted_by_frames", "_quadratic"),
    "timing": ("_counted_by_timing", "_quadratic"),
    "mode_stack_chunked": ("_counted_by_mode_stack", "_quadratic_chunked"),
}


def _notebook(tmp_path: Path, detect: str, slow: str) -> Path:
    nb = json.loads(LAYOUT.master.read_text())
    cells = [c for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade_id") == "nystrom_attention"]
    assert len(cells) == 1, "the master's nystrom_attention answer cell"
    cells[0]["source"] = HEADER + BODY.format(detect=detect, slow=slow)
    cells[0]["outputs"] = []
    path = tmp_path / "nystrom_attention.ipynb"
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cost_forgery_loses_the_cost_points_only(tmp_path, variant):
    request = dataclasses.replace(base_request(COURSE, LAYOUT), threads=1,
                                  submission=_notebook(tmp_path, *VARIANTS[variant]))
    doc = run_suite(request).results
    tests = {t["name"]: t for t in doc["tests"]}
    assert doc["extra_data"]["dropped_cells"] == [] and not doc["extra_data"]["load_errors"]
    cost = tests.pop(COST_TEST)
    assert cost["score"] == 0, f"{variant}: the forged cost earned the cost test's points"
    assert re.search(r"time limit|memory", cost["output"], re.IGNORECASE), cost["output"]
    lost = {name: t["output"] for name, t in tests.items() if t["score"] != t["max_score"]}
    assert not lost, f"{variant}: tests other than the cost test lost points: {lost}"
    assert doc["score"] == doc["max_score"] - cost["max_score"] == 54
