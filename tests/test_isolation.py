"""Hostile submissions in the sandboxed worker: each contained, scored, explained in one
line, and the other tests still graded.

Every attack is a small module graded by the same three-test suite: `test_before` and
`test_after` call a harmless function (1 point each), `test_attack` calls the attack
(1 point). A contained attack scores exactly 2 and explains itself in `test_attack`.
"""

from __future__ import annotations

import socket
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest

from autograder.config import SandboxLimits
from autograder.engine import run_suite
from autograder.request import GradeRequest
from autograder.sandbox.policy import bubblewrap_works

from conftest import FIXTURES, REPO

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not bubblewrap_works(),
                                 reason="bubblewrap cannot build a sandbox here (install bwrap)")]

LIMITS = SandboxLimits(memory_mb=512, cpu_seconds=60, wall_seconds_per_call=2,
                       wall_seconds_per_submission=60, max_processes=32)
MASTER = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
SECRET = REPO / "solutions" / "transformer" / "test_transformer.py"

SUITE = """
import pytest

@pytest.mark.points(1)
def test_before(submission):
    assert submission.ok() == 1, "ok() must return 1"

@pytest.mark.points(1)
def test_attack(submission):
    result = submission.attack()
    assert result == 42, "attack() must return 42"

@pytest.mark.points(1)
def test_after(submission):
    assert submission.ok() == 1, "ok() must return 1"
"""

OK_CELL = "# %% cell 'ok' [student]\ndef ok():\n    return 1\n\n"


def grade(tmp_path: Path, attack: str, suite: str = SUITE) -> dict:
    (tmp_path / "test_attack_suite.py").write_text(textwrap.dedent(suite))
    module = tmp_path / "submission.py"
    module.write_text(OK_CELL + "# %% cell 'attack' [student]\n" + textwrap.dedent(attack))
    req = GradeRequest(suite=[tmp_path / "test_attack_suite.py"], submission=module,
                       master=MASTER, limits=LIMITS, mode="sandboxed", sandbox_kind="bubblewrap")
    return run_suite(req).results


def attack_output(doc: dict) -> str:
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["test_before"]["status"] == "passed", tests["test_before"]["output"]
    assert tests["test_after"]["status"] == "passed", tests["test_after"]["output"]
    assert tests["test_attack"]["status"] == "failed"
    assert doc["score"] == 2 and doc["extra_data"]["sandbox"] == "bubblewrap"
    out = tests["test_attack"]["output"]
    assert out and "Traceback" not in out
    return out


@pytest.mark.parametrize("name, attack, fragment", [
    ("infinite loop", "def attack():\n    while True:\n        pass\n", "Time limit"),
    ("sleep forever", "import time\ndef attack():\n    time.sleep(10**6)\n", "Time limit"),
    ("memory bomb", "def attack():\n    hog = []\n    while True:\n"
                    "        hog.append(bytearray(64 * 2**20))\n", ("crashed", "MemoryError")),
    ("fork bomb", "import os\ndef attack():\n    while True:\n        os.fork()\n",
     ("BlockingIOError", "Time limit", "crashed")),
    ("sys.exit in a call", "import sys\ndef attack():\n    sys.exit(0)\n", "sys.exit"),
    ("os._exit in a call", "import os\ndef attack():\n    os._exit(0)\n", "crashed"),
    ("sys.exit at import", "import sys\nclass Boom:\n    sys.exit(3)\ndef attack():\n    return 42\n",
     "SystemExit"),
    ("os._exit at import", "import os\nclass Boom:\n    os._exit(0)\ndef attack():\n    return 42\n",
     "crashed the sandboxed worker"),
    ("rigged __eq__", "class Always:\n    def __eq__(self, other):\n        return True\n"
                      "def attack():\n    return Always()\n", "Always object where data"),
    ("atexit", "import atexit\ndef attack():\n    atexit.register(print, 'score: 100')\n    return 0\n",
     "attack() must return 42"),
])
def test_attack_is_contained(tmp_path, name, attack, fragment):
    out = attack_output(grade(tmp_path, attack))
    fragments = (fragment,) if isinstance(fragment, str) else fragment
    assert any(f in out for f in fragments), f"{name}: {out}"


def test_reading_hidden_files_fails(tmp_path):
    attack = f"def attack():\n    return open({str(SECRET)!r}).read()\n"
    doc = grade(tmp_path, attack)
    assert "FileNotFoundError" in attack_output(doc)
    assert "Bugs this suite catches" not in str(doc)


def test_no_network_even_to_the_graders_loopback(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    attack = (f"import socket\ndef attack():\n"
              f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    return 42\n")
    out = attack_output(grade(tmp_path, attack))
    server.close()
    thread.join(6)
    assert not accepted and ("OSError" in out or "Error" in out)


def test_a_setsid_child_dies_with_the_worker(tmp_path):
    attack = ("import subprocess\ndef attack():\n"
              "    subprocess.Popen(['sleep', '987654'], start_new_session=True)\n    return 0\n")
    attack_output(grade(tmp_path, attack))
    left = subprocess.run(["pgrep", "-f", "sleep 987654"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "the daemonised child outlived the sandbox"


def test_a_forged_results_file_changes_nothing(tmp_path):
    attack = ("import json, os\ndef attack():\n"
              "    forged = {'score': 100, 'max_score': 3, 'tests': []}\n"
              "    for path in ('/tmp/results.json', 'results.json', '../results.json'):\n"
              "        try:\n            open(path, 'w').write(json.dumps(forged))\n"
              "        except OSError:\n            pass\n    return 0\n")
    doc = grade(tmp_path, attack)
    attack_output(doc)
    assert doc["score"] == 2


def test_a_tensor_subclass_is_not_a_tensor(tmp_path):
    suite = SUITE.replace('result = submission.attack()\n    assert result == 42, "attack() must return 42"',
                          'import torch\n    result = submission.attack()\n'
                          '    assert isinstance(result, torch.Tensor), "attack() must return a torch.Tensor"')
    attack = ("import torch\nclass Sneaky(torch.Tensor):\n    pass\n"
              "def attack():\n    return torch.zeros(3).as_subclass(Sneaky)\n")
    assert "must return a torch.Tensor" in attack_output(grade(tmp_path, attack, suite))


def test_student_exceptions_keep_their_builtin_type(tmp_path):
    suite = SUITE.replace('result = submission.attack()\n    assert result == 42, "attack() must return 42"',
                          'with pytest.raises(ValueError, match="bad shape"):\n'
                          '        submission.attack()\n    assert False, "graded on purpose"')
    out = attack_output(grade(tmp_path, "def attack():\n    raise ValueError('bad shape')\n", suite))
    assert out == "graded on purpose"


def test_the_transformer_reference_gets_full_marks_sandboxed(course_cli, tmp_path):
    out = tmp_path / "r.json"
    result = course_cli(REPO / "course_config.py", "grade-notebook", "transformer",
                        str(REPO / "solutions" / "transformer" / "transformer.ipynb"),
                        "--results", str(out))
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(out.read_text())
    failed = [(t["name"], t["output"]) for t in doc["tests"] if t["status"] != "passed"]
    assert doc["score"] == doc["max_score"] == 60, failed
    assert doc["extra_data"]["sandbox"] == "bubblewrap"


RECIPE_SUITE = """
import pytest
import torch

@pytest.mark.points(1)
def test_before(submission):
    assert submission.ok() == 1, "ok() must return 1"

@pytest.mark.points(1)
@pytest.mark.time_limit(30)  # the worker imports torch here: slow on a loaded machine
def test_attack(submission, recipe):
    layer = recipe("torch.nn.Linear", 3, 2)
    out = submission.attack(layer, torch.ones(4, 3))
    assert isinstance(out, torch.Tensor) and out.shape == (4, 2), "attack(layer, x) must apply the layer"
    assert False, "graded on purpose"

@pytest.mark.points(1)
def test_after(submission):
    assert submission.ok() == 1, "ok() must return 1"
"""


def test_recipes_build_objects_where_the_student_code_runs(tmp_path):
    out = attack_output(grade(tmp_path, "def attack(layer, x):\n    return layer(x)\n", RECIPE_SUITE))
    assert out == "graded on purpose"
