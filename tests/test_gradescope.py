"""`course gradescope`: the autograder zip has Gradescope's layout, and its
run_autograder grades with the engine shipped inside the zip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder.course_loader import load_course
from autograder.layout import module_layout


@pytest.mark.integration
def test_gradescope_zip_runs_our_engine(tiny_course, course_cli, tmp_path):
    config = tiny_course / "course_config.py"
    out = tmp_path / "gs.zip"
    result = course_cli(config, "gradescope", "tiny", "--out", str(out))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        root = tmp_path / "autograder"
        zf.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "requirements.txt", "test_tiny.py", "tiny.ipynb",
            "engine/autograder/engine.py", "engine/autograder/plugin/__init__.py"} <= names
    assert modes["run_autograder"] == modes["setup.sh"] == 0o755
    reqs = (root / "source" / "requirements.txt").read_text()
    assert "numpy==" in reqs and "pytest==" in reqs and "execnet" not in reqs
    assert course_cli(config, "assign", "tiny").exit_code == 0
    course = load_course(config)
    for notebook, expected in ((module_layout(course, "tiny").master, 10.0),
                               (module_layout(course, "tiny").stub, 0.0)):
        shutil.rmtree(root / "submission", ignore_errors=True)
        (root / "submission").mkdir(parents=True)
        shutil.copy(notebook, root / "submission" / "my_work.ipynb")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
        run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        doc = json.loads((root / "results" / "results.json").read_text())
        assert doc["score"] == expected, doc.get("output")
        assert doc["extra_data"]["engine_version"]
    # a submission without a notebook still gets a results.json with a clear message
    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, timeout=300)
    doc = json.loads((root / "results" / "results.json").read_text())
    assert doc["score"] == 0 and "exactly one notebook" in doc["output"]
