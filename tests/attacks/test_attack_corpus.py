"""The attack corpus: every hostile submission in tests/attacks/corpus/ graded in ONE
batch with honest ones, through the same path as `course grade` (collect, fork pool,
sandboxed workers, the gradebook). Each entry states, in its header, the score it must
get and what the message of its attacked test must say:

    # <what it tries>
    # expect: <score> | <fragment> || <another acceptable fragment>

`attack()` returns 42 only when the attack worked, so a working attack earns a point it
must not have. Every entry must be contained (its honest tests still pass), the honest
submissions in the batch must keep full marks, and nothing secret may appear in any
stored result or log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from autograder.course_loader import load_course
from app.grading import grade_batch
from gradebook.collect import collect
from gradebook.models import GradingRun, Submission
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

HERE = Path(__file__).parent
CANARY = "canary-5b1e"
HONEST = ("honest1", "honest2", "honest3")


@dataclass
class Attack:
    name: str
    title: str
    score: float
    fragments: list[str]
    code: str


def load_corpus() -> list[Attack]:
    attacks = []
    for path in sorted((HERE / "corpus").glob("*.py")):
        text = path.read_text()
        title = text.splitlines()[0].lstrip("# ").strip()
        match = re.search(r"^# expect: (\S+) \| (.+)$", text, re.MULTILINE)
        assert match, f"{path.name}: needs a '# expect: SCORE | fragment' line"
        attacks.append(Attack(path.stem, title, float(match.group(1)),
                              [f.strip() for f in match.group(2).split("||")], text))
    return attacks


CORPUS = load_corpus()


def test_the_corpus_has_at_least_25_entries():
    assert len(CORPUS) >= 25


def _notebook(master: dict, attack_code: str, tag: str) -> str:
    nb = json.loads(json.dumps(master))
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "attack":
            cell["source"] = attack_code
    nb["metadata"]["variant"] = tag
    return json.dumps(nb)


def _processes_named(name: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.integration
def test_every_attack_is_contained_in_one_batch(tmp_path):
    course_dir = tmp_path / "arena"
    shutil.copytree(HERE / "arena", course_dir)
    course = load_course(course_dir / "course_config.py")
    engine = open_gradebook(course)
    suite = course_dir / "solutions" / "arena" / "test_arena.py"
    master_path = course_dir / "solutions" / "arena" / "arena.ipynb"
    master = json.loads(master_path.read_text())
    batch = course_dir / "batch"
    batch.mkdir()
    ids = {a.name: f"att{i:02d}" for i, a in enumerate(CORPUS)}  # file names match ids
    students = list(ids.values()) + list(HONEST)
    (course_dir / "roster.csv").write_text(
        "id,name,email\n" + "".join(f"{s},{s},{s}@uni.de\n" for s in students))
    import_roster(engine, course_dir / "roster.csv")
    paths = {"{SUITE}": str(suite), "{MASTER}": str(master_path),
             "{GRADEBOOK}": course.resolved_database_url().removeprefix("sqlite:///"),
             "{OTHER}": str(batch / "honest1.ipynb")}
    for attack in CORPUS:
        code = attack.code
        for key, value in paths.items():
            code = code.replace(key, value)
        (batch / f"{ids[attack.name]}.ipynb").write_text(_notebook(master, code, attack.name))
    for name in HONEST:
        (batch / f"{name}.ipynb").write_text(_notebook(
            master, "def attack():\n    return 42  # honest\n", name))
    # shadowing files next to the notebooks must not matter either
    (batch / "math.py").write_text("pi = 42\n")
    (batch / "numpy").mkdir()
    (batch / "numpy" / "__init__.py").write_text("allclose = lambda *a, **k: True\n")
    (batch / "conftest.py").write_text("raise SystemExit('conftest next to notebooks ran')\n")
    collect(engine, "arena", batch)

    summary = grade_batch(course, engine, "arena", workers=2)
    assert summary.failed == [], summary.failed
    assert summary.graded == len(students)

    with Session(engine) as session:
        sha = {s.student_id: s.sha256 for s in session.scalars(select(Submission))}
        runs = {r.sha256: r for r in session.scalars(select(GradingRun))}
    problems = []
    for attack in CORPUS:
        run = runs[sha[ids[attack.name]]]
        tests = {t["name"]: t for t in run.result["tests"]}
        message = tests["test_attack"]["output"]
        if run.score != attack.score:
            problems.append(f"{attack.name}: score {run.score:g}, expected {attack.score:g} "
                            f"({message[:120]!r})")
        if not any(f in message for f in attack.fragments):
            problems.append(f"{attack.name}: message {message[:160]!r} has none of "
                            f"{attack.fragments}")
        for honest_test in ("test_before", "test_after"):
            if tests[honest_test]["status"] != "passed":
                problems.append(f"{attack.name}: {honest_test} failed: "
                                f"{tests[honest_test]['output'][:120]!r}")
    for name in HONEST:
        if runs[sha[name]].score != 3:
            problems.append(f"{name} (honest) got {runs[sha[name]].score:g}, not 3")
    for run in runs.values():  # the suite's text never reaches a result or a log
        if CANARY in json.dumps(run.result) + run.log or "SECRET_EXPECTED" in json.dumps(run.result):
            problems.append(f"run {run.id}: the hidden suite leaked into the stored result")
    assert not problems, "\n".join(problems)
    assert not Path("/tmp/forged/results.json").exists()
    assert _processes_named("fdl-daemon") == [], "the daemonised child outlived its grading"
