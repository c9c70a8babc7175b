"""Side by side: one small numpy assignment graded by nbgrader, otter-grader and us.

The assignment is the tiny module of the engine's tests (softmax + a running-mean
Counter, 10 points), written three times: our hidden pytest suite, an nbgrader source
notebook with autograder test cells, and otter's OK-format tests. 20 submissions:
8 correct, 6 partly wrong, 5 erroring, 1 infinite loop (inside `softmax`, so every tool
has to call it). Each tool is installed into its own venv by this script (cached) and
graded in one run:

- nbgrader: one `nbgrader autograde` batch (cell timeout 5 s);
- otter: `otter run` per submission (no time limit of its own: the script stops a run
  after --otter-kill seconds and records that);
- ours: `course collect` (not timed) then one `course grade` batch, sandboxed, -j 2
  (5 s per test, as the tiny course's config says).

Prints the total time and the median time per submission (each submission's own time:
ours from its grading process, nbgrader's from its time-stamped log, otter's from each
run), how each handled the infinite loop, the scores, and both ratios. Ours, nbgrader and
bare run --rounds times (default 3), interleaved: this machine's speed drifts by half
within the hour, so each ratio is taken within a round and the median over rounds is
shown with its range. Usage: .venv/bin/python benchmarks/vs_peers.py [--work DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "tinycourse"
PY = "/usr/bin/python3"
TIMEOUT_S = 5

ANSWERS = {  # grade_id -> answer cell source
    "softmax": ("def softmax(x):\n    z = x - x.max(axis=-1, keepdims=True)\n    e = np.exp(z)\n"
                "    return e / e.sum(axis=-1, keepdims=True)\n"),
    "counter": ("class Counter:\n    def __init__(self):\n        self.n = 0\n        self.total = 0.0\n\n"
                "    def add(self, x):\n        self.n += 1\n        self.total += x\n\n"
                "    def mean(self):\n        return self.total / self.n\n"),
}
VARIANTS = {  # kind -> list of {grade_id: source} overrides
    "correct": [{}] * 8,
    "partly wrong": [
        {"softmax": "def softmax(x):\n    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)\n"}] * 3 + [
        {"counter": ANSWERS["counter"].replace("self.total / self.n", "self.total / (self.n + 1)")}] * 3,
    "erroring": [
        {"softmax": "def softmax(x):\n    raise NotImplementedError()\n"},
        {"counter": "class Counter:\n    def __init__(self)\n        pass\n"},
        {"softmax": ANSWERS["softmax"] + "\nprint(undefined_name)\n"},
        {"softmax": "import not_a_module\n" + ANSWERS["softmax"]},
        {"counter": "class Counter:\n    pass\n"},
    ],
    "infinite loop": [{"softmax": "def softmax(x):\n    while True:\n        pass\n"}],
}
TEST_CELLS = [  # (grade_id, points, nbgrader test cell / otter doctest)
    ("test_rows", 2, "import numpy as np\nx = np.random.default_rng(0).normal(size=(4, 5))\n"
                     "assert np.allclose(softmax(x).sum(axis=-1), 1.0)"),
    ("test_stable", 2, "import numpy as np\nout = softmax(np.array([[1000.0, 1001.0, 1002.0]]))\n"
                       "assert np.all(np.isfinite(out))\n"
                       "assert np.allclose(out, [[0.09003057, 0.24472847, 0.66524096]])"),
    ("test_counter", 6, "c = Counter()\nfor v in (1.0, 2.0, 6.0):\n    c.add(v)\n"
                        "assert abs(c.mean() - 3.0) < 1e-9"),
]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def venv(work: Path, name: str, packages: list[str]) -> Path:
    folder = work / f"{name}-venv"
    if not (folder / ".ready").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        run([PY, "-m", "venv", str(folder)], check=True)
        out = run([str(folder / "bin" / "pip"), "install", "-q", *packages])
        if out.returncode != 0:
            raise SystemExit(f"installing {name} failed: {out.stderr[-800:]}")
        (folder / ".ready").touch()
    return folder / "bin"


def submissions() -> list[tuple[str, str, dict[str, str]]]:
    """(student, kind, {grade_id: answer source}) for all 20."""
    subs = []
    for kind, variants in VARIANTS.items():
        for i, override in enumerate(variants):
            answers = {**ANSWERS, **override}
            student = f"{kind.split()[0]}{i:02d}"
            answers = {k: v + f"\n# {student}\n" for k, v in answers.items()}  # distinct bytes
            subs.append((student, kind, answers))
    return subs


def master() -> dict:
    return json.loads((TINY / "solutions" / "tiny" / "tiny.ipynb").read_text())


def notebook_with(answers: dict[str, str], extra_cells: list[dict] = ()) -> dict:
    nb = master()
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    nb["cells"] = [c for c in nb["cells"] if not (c["cell_type"] == "code" and not
                   c["metadata"].get("nbgrader"))] + list(extra_cells)  # drop demo cells
    return nb


# --- nbgrader -----------------------------------------------------------------------
def nbgrader(work: Path, subs) -> dict:
    bin_ = venv(work, "nbgrader", ["nbgrader<0.10", "ipykernel", "numpy"])
    course = work / "nbgrader-course"
    shutil.rmtree(course, ignore_errors=True)
    (course / "source" / "tiny").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'tiny'\n"
        f"c.ExecutePreprocessor.timeout = {TIMEOUT_S}\n"
        # a time stamp on each log line: each submission's time is read from the log
        "c.NbGrader.log_format = '%(created).3f [%(name)s | %(levelname)s] %(message)s'\n"
        "c.CourseDirectory.db_assignments = [dict(name='tiny')]\n")
    tests = [{"cell_type": "code", "execution_count": None, "outputs": [], "source": src,
              "metadata": {"nbgrader": {"grade": True, "grade_id": gid, "locked": True,
                                        "points": pts, "schema_version": 3, "solution": False}}}
             for gid, pts, src in TEST_CELLS]
    source = notebook_with({}, tests)
    source["cells"] = [c for c in source["cells"] if c["cell_type"] != "markdown"
                       or not c["metadata"].get("nbgrader", {}).get("solution")]
    (course / "source" / "tiny" / "tiny.ipynb").write_text(json.dumps(source))
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"}
    out = run([str(bin_ / "nbgrader"), "generate_assignment", "tiny", "--create", "--force"],
              cwd=course, env=env)
    if out.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed: {out.stderr[-1500:]}")
    release = json.loads((course / "release" / "tiny" / "tiny.ipynb").read_text())
    for student, _, answers in subs:
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if gid in answers:
                cell["source"] = answers[gid]
        folder = course / "submitted" / student / "tiny"
        folder.mkdir(parents=True)
        (folder / "tiny.ipynb").write_text(json.dumps(nb))
        (folder / "timestamp.txt").write_text("2026-10-19 12:00:00 UTC")
    start = time.monotonic()
    out = run([str(bin_ / "nbgrader"), "autograde", "tiny", "--create", "--force"], cwd=course,
              env=env, timeout=3600)
    total = time.monotonic() - start
    per = per_submission_from_log(out.stdout + out.stderr, time.time())
    scores = {}
    for student, _, _ in subs:
        graded = course / "autograded" / student / "tiny" / "tiny.ipynb"
        if graded.is_file():
            nb = json.loads(graded.read_text())
            scores[student] = sum(
                c["metadata"]["nbgrader"]["points"] for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade")
                and c["cell_type"] == "code"
                and not any(o.get("output_type") == "error" for o in c.get("outputs", [])))
    handled = (f"cell timed out after {TIMEOUT_S} s, graded" if "infinite00" in scores
               else "not graded")
    if "Timeout" not in out.stdout + out.stderr and "timed out" not in out.stdout + out.stderr:
        handled += " (no timeout message in the log)"
    return {"total": total, "per": per, "scores": scores, "loop": handled,
            "note": f"one batch; each submission's time from its log ({len(per)} read)"}


def per_submission_from_log(log: str, end: float) -> list[float]:
    """nbgrader's time per submission: from the log line that starts one submission
    ("Creating/updating student") to the next one's, the last one to the process's end."""
    starts = [float(line.split(" ", 1)[0]) for line in log.splitlines()
              if "Creating/updating student with ID" in line]
    if not starts:
        raise SystemExit("nbgrader's log has no time-stamped submission lines:\n" + log[-1500:])
    return [b - a for a, b in zip(starts, starts[1:] + [end])]


# --- otter ----------------------------------------------------------------------------
def otter(work: Path, subs, kill_after: float) -> dict:
    bin_ = venv(work, "otter", ["otter-grader", "ipykernel", "numpy"])
    folder = work / "otter"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "tests").mkdir(parents=True)
    for gid, pts, src in TEST_CELLS:
        doctest = "\n".join((">>> " if i == 0 or not line.startswith(" ") else "... ") + line
                            for i, line in enumerate(src.split("\n")))
        case = {"code": doctest, "hidden": False, "locked": False}
        (folder / "tests" / f"{gid}.py").write_text("OK_FORMAT = True\n\ntest = " + repr({
            "name": gid, "points": pts, "suites": [{"cases": [case], "scored": True,
                                                    "setup": "", "teardown": "",
                                                    "type": "doctest"}]}) + "\n")
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"}
    out = run([str(bin_ / "otter"), "generate", "-t", "tests", "-o", "autograder.zip",
               "--no-requirements", "--no-environment", "--no-config"], cwd=folder, env=env)
    if out.returncode != 0:
        raise SystemExit(f"otter generate failed: {out.stderr[-1500:]}")
    times, scores, loop = [], {}, ""
    total_start = time.monotonic()
    for student, kind, answers in subs:
        nb_path = folder / "subs" / f"{student}.ipynb"
        nb_path.parent.mkdir(exist_ok=True)
        nb_path.write_text(json.dumps(notebook_with(answers)))
        outdir = folder / "out" / student
        outdir.mkdir(parents=True)
        start = time.monotonic()
        try:
            proc = run([str(bin_ / "otter"), "run", "-a", "autograder.zip", "-o", str(outdir),
                        "--no-logo", str(nb_path)], cwd=folder, env=env, timeout=kill_after)
            elapsed = time.monotonic() - start
            results = outdir / "results.json"
            if results.is_file():
                doc = json.loads(results.read_text())
                scores[student] = sum(t.get("score", 0) for t in doc.get("tests", []))
            if kind == "infinite loop":
                loop = f"finished after {elapsed:.0f} s (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - start
            loop = f"hung: killed by this script after {kill_after:g} s, no result"
        times.append(elapsed)
    return {"total": time.monotonic() - total_start, "per": times, "scores": scores,
            "loop": loop, "note": "`otter run` per submission"}


# --- a bare python process: the floor, not a grader -----------------------------------
BARE = """
import json, signal, sys
nb = json.load(open(sys.argv[1]))
def stop(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, stop)
ns, score = {}, 0
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        try:
            signal.alarm(%(limit)d); exec("".join(cell["source"]), ns)
        except BaseException:
            pass
        finally:
            signal.alarm(0)
for points, test in %(tests)r:
    try:
        signal.alarm(%(limit)d); exec(test, dict(ns)); score += points
    except BaseException:
        pass
    finally:
        signal.alarm(0)
print(score)
"""


def bare(work: Path, subs) -> dict:
    """One plain `python` per submission: exec the code cells, run the three tests (5 s
    alarm each). No sandbox, no framework, no results file: what any grader builds on."""
    folder = work / "bare"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    code = BARE % {"limit": TIMEOUT_S, "tests": [(pts, src) for _, pts, src in TEST_CELLS]}
    times, scores = [], {}
    total_start = time.monotonic()
    for student, _, answers in subs:
        path = folder / f"{student}.ipynb"
        path.write_text(json.dumps(notebook_with(answers)))
        start = time.monotonic()
        out = run([sys.executable, "-c", code, str(path)], timeout=120)
        times.append(time.monotonic() - start)
        scores[student] = int(out.stdout.strip() or 0)
    return {"total": time.monotonic() - total_start, "per": times,
            "scores": scores, "loop": f"{TIMEOUT_S} s alarm per test, as ours",
            "note": "reference, not a grader: one plain python per submission, "
                    "no sandbox, no pytest, nothing recorded"}


# --- ours ----------------------------------------------------------------------------
def ours(work: Path, subs) -> dict:
    course = work / "ours"
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(TINY, course)
    cli = [sys.executable, "-m", "app.cli.main", "--config",
           str(course / "course_config.py")]
    (course / "roster.csv").write_text("id,name,email\n" + "".join(
        f"{s},{s},{s}@uni.de\n" for s, _, _ in subs))
    run(cli + ["roster", "import", str(course / "roster.csv")], check=True)
    (course / "batch").mkdir()
    for student, _, answers in subs:
        (course / "batch" / f"{student}.ipynb").write_text(json.dumps(notebook_with(answers)))
    run(cli + ["collect", "tiny", str(course / "batch")], check=True)
    start = time.monotonic()
    out = run(cli + ["grade", "tiny", "-j", "2"], timeout=3600)
    total = time.monotonic() - start
    import sqlite3

    with sqlite3.connect(course / "tiny.db") as con:
        rows = con.execute("select s.student_id, r.score, r.result from submissions s join "
                           "grading_runs r on r.sha256 = s.sha256").fetchall()
    scores = {s: score for s, score, _ in rows}
    docs = {s: json.loads(r) for s, _, r in rows}
    per = [doc["extra_data"]["wall_seconds"] for doc in docs.values()]
    suite = [doc["execution_time"] for doc in docs.values()]
    loop_doc = docs["infinite00"]
    msg = next(t["output"] for t in loop_doc["tests"] if t["status"] == "failed")
    return {"total": total, "per": per, "scores": scores,
            "loop": f"test stopped at its {TIMEOUT_S} s limit, others graded: {msg[:60]}",
            "note": f"one batch, sandboxed ({loop_doc['extra_data']['sandbox']}), -j 2; "
                    f"each submission's wall time from its grading process (suite alone: median "
                    f"{statistics.median(suite):.2f} s)",
            "exit": out.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/fdl-vs-peers"))
    parser.add_argument("--otter-kill", type=float, default=60.0,
                        help="seconds after which a hanging `otter run` is killed")
    parser.add_argument("--tools", type=lambda v: v.split(","),
                        default=["nbgrader", "otter", "bare"],
                        help="what to run besides ours (comma-separated): nbgrader, otter, "
                             "and bare (a plain python per submission, for reference)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of ours, nbgrader and bare, interleaved, so that the "
                             "machine's drift hits every tool alike (otter runs once)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    subs = submissions()
    expected = {s: (10 if k == "correct" else None) for s, k, _ in subs}
    runners = {"ours": lambda: ours(args.work, subs), "nbgrader": lambda: nbgrader(args.work, subs),
               "otter": lambda: otter(args.work, subs, args.otter_kill),
               "bare": lambda: bare(args.work, subs)}
    tools = ["ours"] + [t for t in args.tools if t != "ours"]
    rounds: dict[str, list[dict]] = {tool: [] for tool in tools}
    for r in range(max(1, args.rounds)):
        for tool in tools:
            if tool == "otter" and r > 0:
                continue
            rounds[tool].append(runners[tool]())
            print(f"round {r + 1}: {tool} {statistics.median(rounds[tool][-1]['per']):.2f} s "
                  f"per submission (median), {rounds[tool][-1]['total']:.1f} s in total",
                  flush=True)
    table = Table(title=f"20 submissions of one numpy assignment ({os.cpu_count()} cores, "
                        f"{args.rounds} interleaved round(s); otter: one)")
    for col in ("tool", "total s", "ours faster (total)", "per submission s (median)",
                "ours faster (median)", "correct = 10/10", "infinite loop", "how"):
        table.add_column(col, overflow="fold")
    mine = rounds["ours"]

    def ratio(tool: str, key) -> str:
        """Median over rounds of (tool / ours) in the same round, and the range."""
        values = sorted(key(theirs) / key(ours_r) for theirs, ours_r in zip(rounds[tool], mine))
        med = statistics.median(values)
        return f"{med:.1f}x" + (f" ({values[0]:.1f}–{values[-1]:.1f})" if len(values) > 1 else "")

    def median_per(run: dict) -> float:
        return statistics.median(run["per"])

    def total(run: dict) -> float:
        return run["total"]

    for tool, runs in rounds.items():
        first = runs[0]
        full = sum(1 for s, want in expected.items() if want == 10 and first["scores"].get(s) == 10)
        table.add_row(tool, " / ".join(f"{total(r):.1f}" for r in runs), ratio(tool, total),
                      " / ".join(f"{median_per(r):.2f}" for r in runs), ratio(tool, median_per),
                      f"{full}/8", first["loop"], first["note"])
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
