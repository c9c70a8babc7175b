"""`course release`: bundles are complete, deterministic, leak-free, recorded once; their
checker gives `course check`'s verdicts; solutions wait for the cut-off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder.course_loader import load_course
from autograder.engine import run_suite
from autograder.request import GradeRequest
from autograder.layout import module_layout
from autograder.core.notebook_io import read_notebook, write_notebook
from autograder.release.bundle import read_zip
import autograder.core
from autograder.release.checker import PACKAGE, checker_files
from autograder.release.leaks import scan, secrets_of

from conftest import REPO

AFTER_CUTOFF = "2026-11-30"  # tiny: due 2026-10-19, late until 2026-10-26


@pytest.fixture
def tiny(tiny_course, course_cli):
    """The tiny course with its assignment generated; returns (config path, course)."""
    config = tiny_course / "course_config.py"
    assert course_cli(config, "assign", "tiny").exit_code == 0
    return config, load_course(config)


def _unpack(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest / zip_path.name.split("-")[0]


def _check(folder: Path, notebook: Path, python: str = sys.executable) -> tuple[int, dict]:
    temp = Path(tempfile.mkdtemp(prefix="student-tmp-"))
    try:
        proc = subprocess.run([python, "check.py", str(notebook), "--json"], cwd=folder,
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "TMPDIR": str(temp)})
        # the student's code, extracted to run it, must not pile up on their machine
        assert list(temp.iterdir()) == [], "check.py left files in the temp folder"
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    verdicts = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, verdicts


def test_release_writes_a_complete_bundle_and_is_idempotent(tiny, course_cli, tmp_path):
    config, course = tiny
    dist = tmp_path / "dist"
    first = course_cli(config, "release", "tiny", "--dist", str(dist))
    assert first.exit_code == 0, first.output
    bundle = dist / "tiny-test.zip"
    names = set(read_zip(bundle.read_bytes()))
    assert {"tiny.ipynb", "test_public_tiny.py", "requirements.txt", "check.py",
            "README.md", "_fdl_check/extract.py", "_fdl_check/stub.ipynb"} <= names
    reqs = read_zip(bundle.read_bytes())["requirements.txt"].decode()
    assert "numpy==" in reqs and "pytest==" in reqs and "torch" not in reqs
    manifest = json.loads((dist / "manifest.json").read_text())
    entry = manifest["entries"]["assignment:tiny"]
    assert (entry["revision"], entry["file"]) == (1, "tiny-test.zip")

    before = bundle.read_bytes()
    again = course_cli(config, "release", "tiny", "--dist", str(dist))
    assert again.exit_code == 0 and "unchanged" in again.output
    assert bundle.read_bytes() == before, "the same inputs must give the same bytes"

    bundle.unlink()  # a lost copy is restored, identical
    course_cli(config, "release", "tiny", "--dist", str(dist))
    assert bundle.read_bytes() == before


def test_a_changed_bundle_needs_update_and_becomes_a_new_revision(tiny, course_cli, tmp_path):
    config, course = tiny
    dist = tmp_path / "dist"
    assert course_cli(config, "release", "tiny", "--dist", str(dist)).exit_code == 0
    public = course.root / "assignments" / "tiny" / "notes.txt"
    public.write_text("Hint: numpy broadcasting.\n")
    refused = course_cli(config, "release", "tiny", "--dist", str(dist))
    assert refused.exit_code == 2 and "--update" in refused.output
    assert "revision 1" in refused.output
    updated = course_cli(config, "release", "tiny", "--dist", str(dist), "--update")
    assert updated.exit_code == 0, updated.output
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["entries"]["assignment:tiny"]["revision"] == 2
    assert "notes.txt" in read_zip((dist / "tiny-test.zip").read_bytes())


def test_a_planted_solution_line_refuses_the_release(tiny, course_cli, tmp_path):
    config, course = tiny
    stub_path = course.root / "assignments" / "tiny" / "tiny.ipynb"
    nb = read_notebook(stub_path)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    cell.source = cell.source.replace("raise NotImplementedError()",
                                      "return e / e.sum(axis=-1, keepdims=True)")
    write_notebook(nb, stub_path)
    leaks = scan({"tiny.ipynb": stub_path.read_bytes()}, secrets_of(module_layout(course, "tiny")))
    assert leaks and "tiny.ipynb" in str(leaks[0]) and "softmax" in str(leaks[0])
    dist = tmp_path / "dist"
    result = course_cli(config, "release", "tiny", "--dist", str(dist))
    assert result.exit_code == 2
    assert "tiny.ipynb" in result.output and "Traceback" not in result.output
    assert not (dist / "tiny-test.zip").exists()


def test_leak_scan_finds_every_kind_of_secret(tiny):
    _, course = tiny
    layout = module_layout(course, "tiny")
    secrets = secrets_of(layout)
    clean = {"tiny.ipynb": layout.stub.read_bytes(),
             "test_public_tiny.py": (layout.assignment_dir / "test_public_tiny.py").read_bytes()}
    assert scan(clean, secrets) == []
    planted = {
        "test_tiny.py": b"# the hidden suite by name\n",
        "notes/counter_off_by_one.py": b"x = 1\n",
        "hints.md": b"Remember: For numerical stability: exp of large numbers overflows.\n",
        "extra.py": b"# see test_counter_mean in the hidden tests\n",
        "copy.ipynb": layout.master.read_bytes(),
        "x.py": b"### BEGIN SOLUTION\n",
    }
    found = {leak.file for leak in scan(planted, secrets)}
    assert found == set(planted), sorted(found)


def test_bundle_core_files_are_byte_identical_to_the_repository(tiny):
    """The bundle's checker runs the grader's own core, copied as files, not rewritten."""
    _, course = tiny
    stub = module_layout(course, "tiny").stub.read_bytes()
    files = checker_files("tiny", stub)
    core = Path(autograder.core.__file__).parent
    sources = sorted(core.glob("*.py"))
    assert len(sources) >= 9
    for src in sources:
        assert files[f"{PACKAGE}/{src.name}"] == src.read_bytes(), src.name


@pytest.mark.integration
def test_bundle_checker_gives_the_verdicts_of_course_check(tiny, course_cli, tmp_path):
    config, course = tiny
    layout = module_layout(course, "tiny")
    (layout.assignment_dir / "test_public_counter.py").write_text(
        "import pytest\n\n\n@pytest.mark.points(0)\ndef test_public_counter(submission):\n"
        "    c = submission.Counter()\n    c.add(2.0)\n    c.add(4.0)\n"
        "    assert c.mean() == 3.0, 'mean of 2 and 4 is 3'\n")
    dist = tmp_path / "dist"
    assert course_cli(config, "release", "--week", "1", "--dist", str(dist)).exit_code == 0
    folder = _unpack(dist / "tiny-test.zip", tmp_path / "student")
    partial = tmp_path / "partial.ipynb"  # softmax solved, Counter still a stub
    nb = read_notebook(layout.stub)
    master = {c.metadata.get("nbgrader", {}).get("grade_id"): c
              for c in read_notebook(layout.master).cells}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax":
            cell.source = master["softmax"].source
    write_notebook(nb, partial)
    seen = []
    for notebook in (layout.stub, layout.master, partial):
        request = GradeRequest(suite=layout.public_tests(), submission=notebook,
                               master=layout.stub, limits=course.sandbox, mode="trusted")
        results = run_suite(request).results
        ours = {t["name"]: t["status"] for t in results["tests"]}
        code, theirs = _check(folder, notebook)
        assert theirs == ours, f"{notebook.name}: check.py {theirs} vs course check {ours}"
        assert code == (0 if all(v == "passed" for v in ours.values()) else 1)
        seen.append(sorted(ours.values()))
        if notebook == partial:  # and its messages are the grader's, word for word
            shown = subprocess.run([sys.executable, "check.py", str(notebook)], cwd=folder,
                                   capture_output=True, text=True, timeout=600).stdout
            failed = {t["name"]: t["output"] for t in results["tests"]
                      if t["status"] == "failed"}
            assert failed and all(output for output in failed.values()), failed
            for name, output in failed.items():
                line = f"FAIL  {name}: " + output.replace("\n", "\n        ")
                assert line in shown, f"{name}: check.py shows\n{shown}\nnot\n{line}"
    assert len({tuple(s) for s in seen}) == 3, "stub, master and partial must differ"


def test_solutions_wait_for_the_cutoff(tiny, course_cli, tmp_path):
    config, _ = tiny
    dist = tmp_path / "dist"
    early = course_cli(config, "release", "--solutions", "tiny", "--dist", str(dist),
                       "--as-of", "2026-10-26T12:00")
    assert early.exit_code == 2 and "late submissions count until" in early.output
    assert not (dist / "tiny-test-solution.zip").exists()
    late = course_cli(config, "release", "--solutions", "tiny", "--dist", str(dist),
                      "--as-of", AFTER_CUTOFF)
    assert late.exit_code == 0, late.output
    assert set(read_zip((dist / "tiny-test-solution.zip").read_bytes())) == {"tiny.ipynb"}


def test_selection_errors_are_one_line(tiny, course_cli, tmp_path):
    config, _ = tiny
    for args, needle in ((["--week", "5"], "no module is released in week 5"),
                         (["tiny", "--week", "1"], "not several"),
                         (["--as-of", "2026-01-01"], "release date has come"),
                         (["nope"], "unknown module")):
        result = course_cli(config, "release", *args, "--dist", str(tmp_path / "d"))
        assert result.exit_code == 2 and needle in result.output, (args, result.output)


@pytest.mark.integration
def test_week_one_bundle_works_in_a_fresh_venv_outside_the_repository(tmp_path, course_cli):
    """The CI proof: release week 1 of the real course, unpack it in an empty folder, install
    its requirements.txt into a new virtual environment, and run its checker there."""
    dist = tmp_path / "dist"
    result = course_cli(REPO / "course_config.py", "release", "--week", "1", "--dist", str(dist))
    assert result.exit_code == 0, result.output
    folder = _unpack(dist / "transformer-ws2026.zip", tmp_path / "unpacked")
    assert not folder.resolve().is_relative_to(REPO)
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r",
                              str(folder / "requirements.txt")], capture_output=True, text=True,
                             env=env, timeout=1200)
    assert install.returncode == 0, install.stderr[-2000:]
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import autograder"], capture_output=True, cwd=folder)
    assert probe.returncode != 0, "the fresh venv must not see the course's own package"
    stub_code, stub = _check(folder, folder / "transformer.ipynb", python)
    assert stub_code == 1 and stub and set(stub.values()) == {"failed"}
    master = REPO / "solutions" / "transformer" / "transformer.ipynb"
    ok_code, ok = _check(folder, master, python)
    assert ok_code == 0 and ok and set(ok.values()) == {"passed"}, ok
