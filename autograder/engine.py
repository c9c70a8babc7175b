"""Grade one submission: run a suite through the plugin in a fresh pytest process.

The pytest process is isolated from the submission's folder (its own rootdir, an empty
ini, no cache, importlib imports), so a conftest or ini next to a notebook never loads.
In sandboxed mode (the default) the student's code runs in a sandboxed worker that the
plugin starts; in trusted mode it runs inside that pytest process. The result says
which in `extra_data.sandbox`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import scratch
from autograder.request import GradeRequest, write_request
from autograder.trusted_limits import CPU_LIMIT_EXIT
from autograder.core.errors import GraderError, UserError

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# pytest's plugins that grading never uses, not loaded: each costs imports and hooks in
# every grading process (pdb and readline for `debugging`, xml for `junitxml`, ...), and
# the exception plugins' gc.collect() passes cost ~60 ms of CPU per grading
UNUSED_PLUGINS = tuple(arg for name in (
    "debugging", "unittest", "pastebin", "junitxml", "doctest", "setuponly", "setupplan",
    "stepwise", "legacypath", "subtests", "logging", "unraisableexception", "threadexception")
    for arg in ("-p", f"no:{name}"))
@dataclass
class GradeOutcome:
    """A completed grading: the results document and the pytest log."""

    results: dict[str, Any]
    log: str = ""
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return float(self.results["score"])

    @property
    def max_score(self) -> float:
        return float(self.results["max_score"])

    def failed_tests(self) -> set[str]:
        return {t["name"] for t in self.results["tests"] if t["status"] != "passed"}

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GradeOutcome":
        return cls(results=data["results"], log=data.get("log", ""),
                   wall_time=float(data.get("wall_time", 0.0)), notes=list(data.get("notes", [])))


def pytest_command(req: GradeRequest, results: Path, workdir: Path,
                   limit_self: bool = True) -> list[str]:
    """The command line of the grading pytest process (tested as such); the request
    itself travels as `workdir/request.json`. `limit_self=False`: the fork pool's parent,
    whose children cap themselves."""
    request_file = write_request(req, workdir / "request.json")
    cmd = [sys.executable, "-m", "pytest", *map(str, req.suite),
           "-p", "autograder.plugin", "--grading-request", str(request_file),
           "--results", str(results),
           "-c", os.devnull, "--rootdir", str(workdir), "--import-mode=importlib",
           # no conftest above the suite's folder, and collection starts there: with -c
           # /dev/null the default cut is /dev, where pytest lists every folder from / down
           # (0.5 s of CPU per grading with the suite under a crowded /tmp)
           "--confcutdir", str(Path(req.suite[0]).resolve().parent),
           "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "--no-header", "-rN",
           # students see the plugin's messages, not pytest's report; pytest's own style
           # parses every source file of the traceback (ours included) with `ast` for each
           # failed test: 0.1 s per failing submission, for a log only staff read
           "--tb=native",
           *UNUSED_PLUGINS,
           "-W", "ignore::DeprecationWarning"]
    if not limit_self:
        cmd.append("--no-self-limits")
    if req.marker_expr:
        cmd += ["-m", req.marker_expr]
    return cmd


def check_request(req: GradeRequest) -> None:
    """GraderError for a missing suite or master, UserError for a missing submission."""
    for path in [*req.suite, req.master]:
        if not Path(path).is_file():
            raise GraderError(f"{path}: missing")
    if not Path(req.submission).is_file():
        raise UserError(f"{req.submission}: no such submission file")


def grading_env(req: GradeRequest) -> dict[str, str]:
    """Environment of the grading process."""
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    if req.threads:  # parallel gradings must not fight over the cores
        env.update({var: str(req.threads) for var in THREAD_VARS})
    return env


def run_suite(req: GradeRequest) -> GradeOutcome:
    """Grade in a fresh pytest process; raises GraderError when the grader failed."""
    check_request(req)
    with scratch.folder("grade") as workdir:
        results = workdir / "results.json"
        cmd = pytest_command(req, results, workdir)
        start = time.monotonic()
        timeout = req.limits.wall_seconds_per_submission + req.startup_grace_s
        proc = subprocess.Popen(cmd, cwd=workdir, env={**os.environ, **grading_env(req)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        log = out.decode("utf-8", "replace")[-20000:]
        return collect_outcome(req, results, timed_out, proc.returncode, log,
                               time.monotonic() - start)


def collect_outcome(req: GradeRequest, results: Path, timed_out: bool, returncode: int,
                    log: str, wall: float) -> GradeOutcome:
    """Read what a grading process left: a result, or a GraderError."""
    if not results.is_file():
        if timed_out:
            raise GraderError(f"no test finished within the time limit; see the log:\n{log[-2000:]}")
        raise GraderError(f"the grading process wrote no results (exit {returncode}):\n"
                          f"{log[-2000:]}")
    doc = json.loads(results.read_text(encoding="utf-8"))
    # the grading process's whole life (start-up, worker, tests), beside the plugin's
    # execution_time (from its configuration on): where a batch's time went
    doc.setdefault("extra_data", {})["wall_seconds"] = round(wall, 3)
    outcome = GradeOutcome(doc, log, wall)
    incomplete = doc.get("extra_data", {}).get("outcome") == "incomplete"
    if timed_out:
        limit = req.limits.wall_seconds_per_submission
        _close_partial(doc, f"Not finished: grading this notebook took longer than its limit of "
                            f"{limit:g} s before this test completed.",
                       f"The whole submission hit its time limit of {limit:g} s; tests that "
                       f"did not finish scored 0.")
        doc["extra_data"]["timed_out"] = True
        outcome.notes.append("submission time limit reached")
    elif incomplete and returncode == CPU_LIMIT_EXIT:
        # the plugin stopped itself at its CPU limit and named the test it was checking
        _close_partial(doc, "Not run: grading stopped at the grading process's CPU time "
                            "limit in an earlier test.",
                       f"Grading stopped at the grading process's CPU time limit "
                       f"({req.limits.trusted_cpu_seconds} s); tests that did not run scored 0.")
        doc["extra_data"].setdefault("integrity_flags", []).append(
            f"trusted CPU limit reached in {doc['extra_data'].get('running') or 'a test'}")
    elif incomplete and req.mode == "sandboxed":
        # student code never runs in this process: its death is the grader's to explain
        running = doc["extra_data"].get("running")
        raise GraderError(f"the grading process died (exit status {returncode})"
                          + (f" during {running}" if running else "")
                          + f"; student code runs in the sandboxed worker, so this is not the "
                            f"submission's doing as far as the grader can tell:\n{log[-2000:]}")
    elif incomplete:
        # the process died mid-test: in trusted mode only student code (os._exit, a crash
        # in an extension) can do that; the tests that finished keep their scores
        _close_partial(doc, f"Not finished: the grading process ended abruptly during this test "
                            f"(exit status {returncode}); does your code call os._exit or "
                            f"crash the interpreter?",
                       "Grading ended abruptly; tests that did not finish scored 0.")
        doc["extra_data"].setdefault("integrity_flags", []).append(
            f"grading process exited early (status {returncode})")
    extra = doc.get("extra_data", {})
    if extra.get("outcome") == "grader_error":
        raise GraderError("; ".join(extra.get("grader_errors") or ["unknown grader error"]))
    if extra.get("outcome") != "graded":
        raise GraderError(f"grading did not complete (outcome {extra.get('outcome')!r}):\n{log[-2000:]}")
    return outcome


def _close_partial(doc: dict[str, Any], test_message: str, summary: str) -> None:
    """Turn a partial results document into a result: unfinished tests score 0."""
    for test in doc["tests"]:
        if test["status"] == "pending":
            test.update(status="failed", score=0.0, output=test_message)
    doc["score"] = round(sum(t["score"] for t in doc["tests"]), 6)
    extra = doc.setdefault("extra_data", {})
    if extra.get("outcome") == "incomplete":
        extra["outcome"] = "graded"
    doc["output"] = (doc.get("output", "") + "\n" + summary).strip()
