"""The trusted side holds: what a submission's worker sends can neither crash, starve,
stall nor fool the grading process, and whatever a student submits ends in a result.

Each test grades a small module through `run_suite` (a fresh grading process, the
sandboxed worker, bubblewrap) with a three-test suite: `test_before` and `test_after`
use a harmless function (1 point each), `test_attack` the attack (1 point). Unless a
test says otherwise, the expected result is: `test_attack` scores 0 and explains itself
in one line, the two honest tests keep their points, and the grading is a result (not a
grader error). Attack classes as numbered in docs/SECURITY.md.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from autograder.config import SandboxLimits
from autograder.engine import run_suite
from autograder.request import GradeRequest
from autograder.core.errors import GraderError
from autograder.sandbox.policy import bubblewrap_works

from conftest import FIXTURES

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not bubblewrap_works(),
                                 reason="bubblewrap cannot build a sandbox here (install bwrap)")]

MASTER = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
LIMITS = dict(memory_mb=768, cpu_seconds=60, wall_seconds_per_call=5,
              wall_seconds_per_submission=60, max_processes=32)
OK_CELL = "# %% cell 'ok' [student]\ndef ok():\n    return 1\n\n"

# The suite writes the trusted process's peak resident memory next to itself: a
# measurement of the trusted side, by the trusted side.
SUITE = """
import resource, pathlib
import pytest
import torch

@pytest.mark.points(1)
def test_before(submission):
    assert submission.ok() == 1, "ok() must return 1"

@pytest.mark.points(1)
def test_attack(submission):
    value = submission.attack()
    total = torch.zeros(4, 4) + value
    assert float(total.sum()) == 42.0, "attack() must return 42 / 16"

@pytest.mark.points(1)
def test_after(submission):
    assert submission.ok() == 1, "ok() must return 1"
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pathlib.Path(__file__).with_name("peak_kb").write_text(str(peak_kb))
"""


def grade(tmp_path: Path, attack: str, suite: str = SUITE, **limits) -> dict:
    (tmp_path / "test_attack_suite.py").write_text(textwrap.dedent(suite))
    module = tmp_path / "submission.py"
    module.write_text(OK_CELL + textwrap.dedent(attack))
    req = GradeRequest(suite=[tmp_path / "test_attack_suite.py"], submission=module,
                       master=MASTER, limits=SandboxLimits(**{**LIMITS, **limits}),
                       mode="sandboxed", sandbox_kind="bubblewrap")
    return run_suite(req).results


def contained(doc: dict) -> str:
    """The attack's one-line message, once the honest tests are known to have passed."""
    tests = {t["name"]: t for t in doc["tests"]}
    for name in ("test_before", "test_after"):
        assert tests[name]["status"] == "passed", f"{name}: {tests[name]['output']}"
    assert tests["test_attack"]["score"] == 0 and doc["score"] == 2
    out = tests["test_attack"]["output"]
    assert out and "Traceback" not in out and "not your fault" not in out, out
    return out


def peak_mb(tmp_path: Path) -> float:
    return int((tmp_path / "peak_kb").read_text()) / 1024


ATTACK_CELL = "# %% cell 'attack' [student]\n"

# --- class 1: tensors that are not plain dense data -------------------------------------
NOT_DENSE = {
    "sparse COO, indices outside its shape": """
        torch.sparse_coo_tensor(torch.tensor([[10**6], [10**6]]), torch.tensor([42.0]),
                                (4, 4), check_invariants=False)""",
    "sparse CSR": "torch.eye(4).to_sparse_csr()",
    "meta": "torch.empty(4, 4, device='meta')",
    "quantised": "torch.quantize_per_tensor(torch.ones(4, 4), 0.1, 0, torch.qint8)",
    "complex": "torch.ones(4, 4, dtype=torch.complex64)",
    "float8": "torch.ones(4, 4).to(torch.float8_e4m3fn)",
    "nested": "torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])",
}


@pytest.mark.parametrize("kind", sorted(NOT_DENSE))
def test_a_tensor_that_is_not_plain_dense_data_never_reaches_the_suite(tmp_path, kind):
    """Expected: test_attack scores 0 with 'your code returned a ... tensor where a dense
    tensor ... was expected'; the two honest tests keep their points; no crash of the
    trusted process (a sparse tensor with indices outside its shape segfaulted it)."""
    attack = ATTACK_CELL + "import torch\ndef attack():\n    return " + \
        textwrap.dedent(NOT_DENSE[kind]).strip() + "\n"
    out = contained(grade(tmp_path, attack))
    assert "where a dense tensor" in out, out


def test_a_stride_0_view_comes_back_as_owned_contiguous_data(tmp_path):
    """Not an attack: a correct answer built with expand() keeps its point. Expected: full
    marks; the suite receives a (4, 4) tensor that is contiguous and owns
    exactly 16 floats of storage (not one float seen through stride 0)."""
    suite = SUITE.replace(
        '    total = torch.zeros(4, 4) + value\n',
        '    assert value.is_contiguous() and value.stride() == (4, 1)\n'
        '    assert value.untyped_storage().nbytes() == 16 * 4\n'
        '    total = torch.zeros(4, 4) + value\n')
    attack = ATTACK_CELL + "import torch\ndef attack():\n    return torch.tensor(42 / 16).expand(4, 4)\n"
    doc = grade(tmp_path, attack, suite)
    assert doc["score"] == 3, [t["output"] for t in doc["tests"]]


# --- class 2: memory and time bombs -----------------------------------------------------
# Student code that rewrites what the worker sends: it finds the channel through the
# server loop's frame (the reply pipe here; execnet's channel at 034f2e2) and sends a
# tensor of SHAPE whose data is one float seen through stride 0, then waits.
STRIDE_0 = ATTACK_CELL + """\
import io, os, struct, sys, time
import torch
def attack():
    frame = sys._getframe()
    while frame is not None and not {"write_fd", "channel"} & set(frame.f_locals):
        frame = frame.f_back
    if "channel" in frame.f_locals:  # an execnet channel
        buf = io.BytesIO()
        torch.save(torch.tensor([42 / 16]).expand(*SHAPE), buf)
        frame.f_locals["channel"].send(("ok", ("tensor", buf.getvalue())))
    else:
        body = (b"A" + bytes([1, len(SHAPE)]) + b"".join(struct.pack(">Q", n) for n in SHAPE)
                + struct.pack(">Q", 4) + struct.pack("<f", 42 / 16))
        os.write(frame.f_locals["write_fd"], struct.pack(">Q", len(body)) + body)
    time.sleep(60)
"""


@pytest.mark.parametrize("shape", [(4, 4), (40_000, 40_000)])
def test_a_forged_stride_0_tensor_never_reaches_the_suite(tmp_path, shape):
    """Expected: a reply claiming a tensor of `shape` that carries one float (a stride-0
    view: 1.5 KB that a suite's broadcast turns into 6.4 GB for 40,000 x 40,000) is refused
    as unreadable: test_attack scores 0 with 'a reply the grader cannot read', the honest
    tests keep their points, the trusted process's peak memory stays below 600 MB."""
    out = contained(grade(tmp_path, STRIDE_0.replace("SHAPE", repr(shape))))
    assert "cannot read" in out, out
    assert peak_mb(tmp_path) < 600


def test_a_reply_over_the_size_limit_is_refused_unread(tmp_path):
    """Expected: a 64 MB reply against max_reply_mb=8: test_attack scores 0 with 'returned
    64.0 MB of data in one call; the grader accepts at most 8 MB'; the trusted process
    stays below 400 MB."""
    attack = ATTACK_CELL + "def attack():\n    return b'x' * (64 * 2**20)\n"
    out = contained(grade(tmp_path, attack, max_reply_mb=8))
    assert "returned 64.0 MB of data in one call" in out and "at most 8 MB" in out, out
    assert peak_mb(tmp_path) < 400


# Student code that finds the reply pipe (through the server loop's frame, as it could
# find any object of its own process) and writes its own bytes there, then waits.
FORGE = ATTACK_CELL + """\
import os, struct, sys, time
def _reply_fd():
    frame = sys._getframe()
    while frame is not None and "write_fd" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["write_fd"]
def attack():
    data = PAYLOAD
    os.write(_reply_fd(), struct.pack(">Q", LENGTH) + data)
    time.sleep(60)
"""
FORGED = {
    # name: (payload expression, announced length or None for the payload's, fragment)
    "a frame announcing 1 TB": ("b''", 2**40, "MB of data in one call"),
    "a list announcing 4 billion items in 5 bytes": ("b'L' + struct.pack('>I', 2**32 - 1)",
                                                     None, "cannot read"),
    "a dict announcing 4 billion items": ("b'M' + struct.pack('>I', 2**32 - 1)", None,
                                          "cannot read"),
    "a tensor claiming 10**12 elements": (
        "b'A' + bytes([1, 2]) + struct.pack('>QQQ', 10**6, 10**6, 0)", None, "cannot read"),
    "nesting 200,000 deep": ("b'L\\x00\\x00\\x00\\x01' * 200_000 + b'N'", None, "cannot read"),
    "three million Nones": ("b'L' + struct.pack('>I', 3 * 10**6) + b'N' * (3 * 10**6)",
                            None, "cannot read"),
    "a frame that trickles in slower than the call's limit": ("b''", 2**20, "Time limit"),
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_bytes_forged_on_the_reply_pipe_are_parsed_within_limits(tmp_path, name):
    """Expected: test_attack scores 0 with a message that the reply was refused (too
    large, unreadable) or timed out; the honest tests keep their points; the trusted
    process stays below 400 MB and the grading takes well under its limits."""
    payload, length, fragment = FORGED[name]
    code = FORGE.replace("PAYLOAD", payload).replace(
        "LENGTH", str(length) if length is not None else "len(data)")
    started = time.monotonic()
    out = contained(grade(tmp_path, code, wall_seconds_per_call=3))
    assert fragment in out, out
    assert peak_mb(tmp_path) < 400
    assert time.monotonic() - started < 40


def test_the_trusted_process_caps_its_own_memory(tmp_path):
    """Expected: a reply of the wrong shape, (1, 20000) for (20000, 1), makes the suite
    broadcast to 20000 x 20000 (1.6 GB); with trusted_memory_mb=1500 that allocation fails
    in the trusted process and test_attack scores 0 with 'ran out of memory while checking
    what your code returned'; the honest tests keep their points."""
    suite = SUITE.replace("    total = torch.zeros(4, 4) + value\n",
                          "    total = value - torch.zeros(20000, 1)\n")
    attack = ATTACK_CELL + "import torch\ndef attack():\n    return torch.zeros(1, 20000)\n"
    out = contained(grade(tmp_path, attack, suite, trusted_memory_mb=1500))
    assert "ran out of memory while checking what your code returned" in out, out


def test_the_trusted_process_stops_at_its_cpu_limit_and_names_the_test(tmp_path):
    """Expected: a suite that spins on the trusted side in test_attack, with
    trusted_cpu_seconds=3, is a result: test_before keeps its point, test_attack says
    'used up its CPU time limit (3 s)', test_after did not run; the result names the test
    in its integrity flags."""
    suite = SUITE.replace("    total = torch.zeros(4, 4) + value\n",
                          "    while True:\n        pass\n")
    attack = ATTACK_CELL + "def attack():\n    return 1\n"
    doc = grade(tmp_path, attack, suite, trusted_cpu_seconds=3)
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["test_before"]["status"] == "passed"
    assert "used up its CPU time limit (3 s)" in tests["test_attack"]["output"]
    assert tests["test_after"]["score"] == 0 and doc["score"] == 1
    assert any("test_attack" in flag for flag in doc["extra_data"]["integrity_flags"])


def test_a_trusted_process_that_dies_is_a_grader_error_not_the_students_fault(tmp_path):
    """Expected: when the grading process itself dies mid-suite in sandboxed mode (here the
    suite calls os._exit), the outcome is a GraderError naming the test, never a stored
    result that asks the student whether their code calls os._exit."""
    suite = SUITE.replace("    total = torch.zeros(4, 4) + value\n",
                          "    import os\n    os._exit(3)\n")
    attack = ATTACK_CELL + "def attack():\n    return 1\n"
    with pytest.raises(GraderError, match="died .*during .*test_attack"):
        grade(tmp_path, attack, suite)


# --- class 3: notebooks that can never be graded ----------------------------------------
NEVER_GRADED = {
    "KeyboardInterrupt at import": "raise KeyboardInterrupt('bye')\n",
    "GeneratorExit at import": "raise GeneratorExit()\n",
    "a BaseException subclass at import": "class Out(BaseException):\n    pass\nraise Out()\n",
    "KeyboardInterrupt in a class body": "class C:\n    raise KeyboardInterrupt\n",
    "a non-string key in the module's globals": "globals()[1] = 2\n",
    "a tuple key in the module's globals": "globals()[('a', 1)] = 2\n",
    "an object key in the module's globals": "globals()[object()] = 2\n",
}


@pytest.mark.parametrize("name", sorted(NEVER_GRADED))
def test_a_cell_that_breaks_loading_ends_in_a_result(tmp_path, name):
    """Expected: a result (not a grader error): test_attack scores 0 saying `attack` is
    missing or its cell failed, test_before and test_after keep their points."""
    attack = ATTACK_CELL + NEVER_GRADED[name]
    if "globals" in name:  # the cell still defines attack(), wrongly
        attack += "def attack():\n    return 41\n"
    contained(grade(tmp_path, attack))


KEEP_ALIVE = ATTACK_CELL + """\
import sys, threading, time
def _sender():
    frame = sys._getframe()
    while frame is not None:
        for name in ("send", "channel"):
            if name in frame.f_locals:
                found = frame.f_locals[name]
                return found if callable(found) else found.send
        frame = frame.f_back
send = _sender()
def _keep_alive():
    while True:
        send(("loading", LABEL))
        time.sleep(0.2)
threading.Thread(target=_keep_alive, daemon=True).start()
while True:
    time.sleep(1)
"""


@pytest.mark.parametrize("label", ["\"cell 'attack'\"", "\"cell 'ok'\"", "'no such cell'"])
def test_a_thread_sending_keep_alives_does_not_stretch_loading(tmp_path, label):
    """Expected: a cell that hangs while its thread sends "loading" frames (its own label,
    an earlier cell's, an unknown one) is left out after load_seconds_per_cell=3: a
    result within 30 s, test_attack 0 ('not loaded'), the honest tests keep their points."""
    started = time.monotonic()
    out = contained(grade(tmp_path, KEEP_ALIVE.replace("LABEL", label),
                          load_seconds=20, load_seconds_per_cell=3))
    assert "not loaded" in out or "does not define" in out, out
    assert time.monotonic() - started < 30


def test_several_cells_hanging_at_import_are_each_left_out(tmp_path):
    """Expected: three cells that each hang at import (a busy loop, a sleep, a lock that
    never opens) with load_seconds_per_cell=3: a result in under 40 s; the honest tests
    keep their points, test_attack (defined in a fourth cell after them) passes too."""
    hangs = ("while True:\n    pass\n", "import time\ntime.sleep(10**6)\n",
             "import threading\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()\n")
    cells = "".join(f"# %% cell 'hang{i}' [student]\n{code}\n" for i, code in enumerate(hangs))
    cells += ATTACK_CELL + "import torch\ndef attack():\n    return torch.tensor(42 / 16)\n"
    started = time.monotonic()
    doc = grade(tmp_path, cells, load_seconds=30, load_seconds_per_cell=3)
    assert doc["score"] == 3, [t["output"] for t in doc["tests"]]
    errors = "\n".join(doc["extra_data"]["load_errors"])
    assert all(f"hang{i}" in errors for i in range(3)), errors
    assert time.monotonic() - started < 40


def test_a_notebook_still_loading_at_the_deadline_scores_zero_with_the_reason(tmp_path):
    """Expected: ten hanging cells with load_seconds_per_cell=2 and load_seconds=8: every
    test scores 0 saying the notebook did not finish loading within 8 s; a result (not a
    grader error) in under 30 s."""
    cells = "".join(f"# %% cell 'hang{i}' [student]\nwhile True:\n    pass\n" for i in range(10))
    started = time.monotonic()
    doc = grade(tmp_path, ATTACK_CELL + "def attack():\n    return 1\n" + cells,
                load_seconds=8, load_seconds_per_cell=2)
    assert doc["score"] == 0
    assert all("did not finish loading within 8 s" in t["output"] for t in doc["tests"])
    assert time.monotonic() - started < 30


# --- class 5: hidden inputs never reach an earlier-shown message ------------------------
LEAK_SUITE = """
import pytest

@pytest.mark.points(1)
@pytest.mark.visibility("VIS_SECRET")
def test_secret(submission):
    assert submission.remember("canary-7f3a") == 1

@pytest.mark.points(1)
@pytest.mark.visibility("VIS_SHOWN")
def test_shown(submission):
    assert submission.tell() == 1, "tell() must return 1"
"""
LEAKER = ATTACK_CELL + """\
seen = []
def remember(x):
    seen.append(x)
    return 1
def tell():
    raise ValueError("I saw: " + repr(seen))
"""


@pytest.mark.parametrize("secret, shown", [("hidden", "visible"), ("after_due_date", "visible"),
                                           ("hidden", "after_due_date"),
                                           ("after_published", "after_due_date")])
def test_what_code_saw_in_a_later_shown_test_never_reaches_an_earlier_shown_message(
        tmp_path, secret, shown):
    """Expected: a `secret`-visibility test written BEFORE a `shown` one in the suite
    passes an argument; the student's code repeats everything it has seen in the shown
    test's message: that message never contains the argument."""
    suite = LEAK_SUITE.replace("VIS_SECRET", secret).replace("VIS_SHOWN", shown)
    (tmp_path / "test_attack_suite.py").write_text(textwrap.dedent(suite))
    module = tmp_path / "submission.py"
    module.write_text(OK_CELL + LEAKER)
    req = GradeRequest(suite=[tmp_path / "test_attack_suite.py"], submission=module,
                       master=MASTER, limits=SandboxLimits(**LIMITS), mode="sandboxed",
                       sandbox_kind="bubblewrap")
    doc = run_suite(req).results
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["test_secret"]["status"] == "passed"
    assert "I saw" in tests["test_shown"]["output"]
    assert "canary-7f3a" not in tests["test_shown"]["output"]
    assert "canary-7f3a" not in json.dumps(doc["output"])


# --- what the result says about the sandbox ---------------------------------------------
def test_the_result_names_the_protections_the_launcher_applied(tmp_path):
    """Expected: extra_data.protections is the launcher's own report (written before the
    sandbox started, outside it): seccomp and nested user namespaces named, a cpu share
    or the nice fallback named."""
    doc = grade(tmp_path, ATTACK_CELL + "def attack():\n    return 1\n")
    protections = doc["extra_data"]["protections"]
    assert set(protections) >= {"cpu", "memory", "pids", "seccomp", "userns"}, protections
    from autograder.sandbox.policy import bwrap_features

    features = bwrap_features()  # what this host's bubblewrap accepts
    assert protections["seccomp"].startswith("bwrap --seccomp") == ("seccomp" in features)
    assert ("refused" in protections["userns"]) == ("disable-userns" in features), protections
    assert "cpu.shares" in protections["cpu"] or "cpu.weight" in protections["cpu"] \
        or "nice 19" in protections["cpu"], protections


def test_a_worker_that_cannot_start_is_the_machines_fault(tmp_path):
    """Expected: when the sandbox itself cannot be built (here: bubblewrap told to bind a
    venv that does not exist), no student code has run, so the outcome is a GraderError
    carrying the sandbox's own message, never a zero for the student."""
    import dataclasses

    from autograder.sandbox.policy import SandboxSpec
    from autograder.worker.client import Worker

    spec = SandboxSpec(kind="bubblewrap", limits=SandboxLimits(**LIMITS), device="cpu")
    worker = Worker(dataclasses.replace(spec, venv=str(tmp_path / "no-such-venv")),
                    OK_CELL)
    with pytest.raises(GraderError, match="did not start.*no-such-venv"):
        worker.ensure()
    worker.close()
