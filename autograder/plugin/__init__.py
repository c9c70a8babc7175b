"""pytest plugin that turns a hidden suite into one results.json.

Load it with `pytest -p autograder.plugin SUITE --grading-request REQUEST.json --results OUT`
(`autograder.engine.pytest_command` writes both).

Fixtures: `submission` (the student's definitions), `reference` (the master's solution,
trusted side only), `device`, `rng` / `torch_rng` (seeded per test), `recipe`,
`threshold` (a learning test's measured value against its threshold, recorded).
Markers: `points(n)`, `visibility(v)`, `time_limit(s)`, `slow`, `gpu`, `worker_reported`.

Student outcomes (a failed assertion, an exception in student code, a time-out, an
unusable notebook) are scores with messages; anything else that fails (collection, a
fixture other than `submission`, teardown, an explicit GraderError) makes the run a
grader error, which is not a result.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Generator

import pytest

from autograder import __version__, trusted_limits
from autograder.core.errors import CallTimeout, GraderError, StudentCodeError, StudentError, UserError
from autograder.core.markers import MARKERS
from autograder.plugin.messages import failure_message
from autograder.plugin.results import VISIBILITIES, ResultsDocument, TestRecord, summary_output
from autograder.plugin.seed_shift import shifted_rngs
from autograder.plugin.thresholds import Measurement, Threshold
from autograder.plugin.source import SourceLoader
from autograder.request import GradeRequest, read_request
from autograder.sandbox.containers import CONTAINER_KINDS, ContainerSpec
from autograder.sandbox.policy import SandboxSpec, choose_kind


TRUSTED_SANDBOX = "none: trusted mode, student code ran inside the grading process"

plugin_key = pytest.StashKey["GradingPlugin"]()
# what a suite's worker_reported tests may be worth together: the points a student who
# rewrites the worker's reports could take without doing the work
MAX_WORKER_REPORTED_POINTS = 2.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "grading a submission")
    group.addoption("--grading-request", type=Path, default=None,
                    help="the grading request, a JSON file (autograder/request.py)")
    group.addoption("--results", type=Path, default=None, help="write results.json here")
    group.addoption("--no-self-limits", action="store_true",
                    help="do not cap this process (the fork pool's parent: each forked "
                         "child caps itself)")


def pytest_configure(config: pytest.Config) -> None:
    for marker, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {doc}")
    path = config.getoption("grading_request")
    if path is None:
        raise pytest.UsageError("the grading plugin needs --grading-request FILE (a JSON "
                                "grading request, see autograder/request.py)")
    try:
        request = read_request(path)
    except (GraderError, UserError) as exc:
        raise pytest.UsageError(str(exc)) from None
    plugin = GradingPlugin(config, request)
    config.stash[plugin_key] = plugin
    config.pluginmanager.register(plugin, "autograder-grading")
    if not config.getoption("no_self_limits"):
        plugin.limit_self(request.limits.trusted_memory_mb, request.limits.trusted_cpu_seconds)


class GradingPlugin:
    """Collects one TestRecord per test and writes the results document at the end."""

    def __init__(self, config: pytest.Config, request: GradeRequest) -> None:
        self.config = config
        self.request = request
        self.records: dict[str, TestRecord] = {}
        self.grader_errors: list[str] = []
        self.skipped: list[str] = []
        self.started = time.monotonic()
        self.running: str | None = None  # the test being run, in every flushed document
        self.measurements: list[Measurement] = []  # the `threshold` fixture's, in order
        self.cpu_limit = 0
        self.sandbox = _sandbox_spec(request)
        self.sources = SourceLoader(submission=request.submission, master=request.master,
                                    max_notebook_mb=request.limits.max_notebook_mb,
                                    sandbox=self.sandbox)

    def limit_self(self, memory_mb: int, cpu_seconds: int) -> None:
        """Cap this grading process (autograder/trusted_limits.py)."""
        self.cpu_limit = cpu_seconds
        trusted_limits.apply(memory_mb, cpu_seconds, self._stopped_at_cpu_limit)

    def _stopped_at_cpu_limit(self) -> None:
        if self.running in self.records:
            record = self.records[self.running]
            record.status, record.score = "failed", 0.0
            record.output = (f"The grading process used up its CPU time limit "
                             f"({self.cpu_limit} s) while checking what your code returned in "
                             f"this test; grading stopped here.")
        self._flush(final=False)

    def start_submission(self, submission: Path, results: Path,
                         trusted: tuple[int, int] | None = None) -> None:
        """Grade another submission with this configured, collected session (a process
        forked after collection, see autograder/pool.py). Tests, records and collection
        errors stay; the submission, its worker and the clock start afresh; `trusted`
        (memory MB, CPU seconds) caps this process."""
        if trusted is not None:
            self.limit_self(*trusted)
        self.request = self.request.for_submission(submission)
        self.config.option.results = results
        self.sources = SourceLoader(submission=submission, master=self.sources.master,
                                    max_notebook_mb=self.request.limits.max_notebook_mb,
                                    sandbox=self.sandbox)
        self.measurements = []
        self.started = time.monotonic()

    # --- collection ----------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Tests run in the order of their visibility (VISIBILITIES: visible first, hidden
        last: SHOWN_IN_ORDER), so nothing student code saw in a test reaches the message of a test that is
        shown earlier: the worker lives for the whole submission."""
        items.sort(key=_visibility_rank)
        for item in items:
            if item.get_closest_marker("gpu") and not _cuda_available():
                item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            try:
                self.records[item.nodeid] = _record_for(item)
            except ValueError as exc:
                self.grader_errors.append(f"{item.nodeid}: {exc}")
        reported = sum(r.max_score for r in self.records.values() if "worker_reported" in r.tags)
        if reported > MAX_WORKER_REPORTED_POINTS:
            self.grader_errors.append(
                f"the worker_reported tests carry {reported:g} points together; at most "
                f"{MAX_WORKER_REPORTED_POINTS:g} may rest on what the worker reports about itself")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.grader_errors.append(f"collecting {report.nodeid or 'the suite'} failed: "
                                      f"{text[-1] if text else 'unknown error'}")

    # --- running -------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        marker = item.get_closest_marker("time_limit")
        limit = float(marker.args[0]) if marker and marker.args else \
            self.request.limits.wall_seconds_per_call
        if self.sandbox is not None:  # the worker enforces it per call
            worker = self.sources.worker
            self.call_limit = limit
            if worker is not None:
                worker.call_timeout = limit
                worker.seed(zlib.crc32(item.nodeid.encode()))
            return (yield)
        if self.request.seed_shift and item.get_closest_marker("slow"):
            with shifted_rngs(self.request.seed_shift):
                return (yield from self._timed_call(limit))
        return (yield from self._timed_call(limit))

    def _timed_call(self, limit: float) -> Generator[None, Any, Any]:
        """Trusted mode: the test's call under SIGALRM at `limit` seconds."""
        if not limit or threading.current_thread() is not threading.main_thread():
            return (yield)

        def on_alarm(signum: int, frame: Any) -> None:
            raise CallTimeout(limit)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            return (yield)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        record = self.records.get(item.nodeid)
        if record is None:
            return report
        record.duration += call.duration
        if report.skipped and call.when == "setup":
            self.skipped.append(f"{item.name}: {_skip_reason(report)}")
            self.records.pop(item.nodeid)
        elif report.failed and call.excinfo is not None:
            exc = call.excinfo.value
            student = (call.when == "call" and not isinstance(exc, GraderError)) or (
                call.when == "setup" and isinstance(exc, StudentError))
            if student and self.sandbox is not None and not isinstance(exc, StudentCodeError) \
                    and trusted_limits.is_out_of_memory(exc):
                record.status, record.score = "failed", 0.0
                record.output = ("The grading process ran out of memory while checking what "
                                 "your code returned in this test (far more data than the "
                                 "test expects?).")
            elif student:
                record.status, record.score = "failed", 0.0
                record.output = failure_message(call.excinfo, self.sources.locate)
            else:
                self.grader_errors.append(f"{item.nodeid} ({call.when}): "
                                          f"{type(exc).__name__}: {exc}")
                record.status, record.score = "failed", 0.0
                record.output = "The grader failed on this test (not your fault); it will be retried."
        elif report.passed and call.when == "call":
            record.status, record.score = "passed", record.max_score
            record.output = ""
        return report

    # --- the end -------------------------------------------------------------
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running = nodeid
        self._flush(final=False)  # a process that dies in this test leaves its name

    def pytest_runtest_logfinish(self) -> None:
        self.running = None
        self._flush(final=False)  # a run killed later still leaves what it graded

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not self.grader_errors:
            self.grader_errors.append(f"pytest stopped with exit status {int(exitstatus)}")
        self._flush(final=True)
        self.sources.close()

    def _flush(self, final: bool) -> None:
        path = self.config.getoption("results")
        if path is None:
            return
        doc = self.document(final)
        tmp = Path(f"{path}.tmp")
        tmp.write_text(json.dumps(doc.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def document(self, final: bool = True) -> ResultsDocument:
        """The results document for everything recorded so far."""
        if final:
            for record in self.records.values():
                if record.status == "pending":
                    record.status = "failed"
                    record.output = record.output or "This test did not run."
        doc = ResultsDocument(tests=list(self.records.values()),
                              execution_time=time.monotonic() - self.started)
        extra = self.sources.extra_data()
        extra.update({
            "outcome": ("grader_error" if self.grader_errors
                        else "graded" if final else "incomplete"),
            "grader_errors": self.grader_errors,
            "suite_hash": self.request.suite_hash,
            "engine_version": __version__,
            "backend": (self.sandbox.kind if self.sandbox and self.sandbox.kind in CONTAINER_KINDS
                        else "local"),
            "sandbox": self.sandbox.kind if self.sandbox else TRUSTED_SANDBOX,
            "device": self._device_name(),
            "skipped": self.skipped,
        })
        if not final and self.running in self.records:
            extra["running"] = self.records[self.running].name
        if self.measurements:
            extra["measurements"] = [m.to_json() for m in self.measurements]
        doc.extra_data = extra
        doc.output = summary_output(doc)
        return doc

    def _device_name(self) -> str:
        """Where the student's code ran: the worker says; trusted mode is the CPU."""
        worker = self.sources.worker
        return str(worker.load_info.get("device", "cpu")) if worker is not None else "cpu"


# --- fixtures (module level; state lives in the plugin object in config.stash) ---------
def _plugin(request: pytest.FixtureRequest) -> GradingPlugin:
    return request.config.stash[plugin_key]


@pytest.fixture(scope="session")
def submission(request: pytest.FixtureRequest) -> Any:
    """The student's definitions (functions, classes, constants)."""
    return _plugin(request).sources.submission_view()


@pytest.fixture(scope="session")
def reference(request: pytest.FixtureRequest) -> Any:
    """The master notebook's solution module (trusted side only)."""
    return _plugin(request).sources.reference_module()


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest, submission: Any) -> Any:
    """torch.device where the student's code runs: CUDA when the sandboxed worker uses the
    GPU, else CPU. Tests need not use it: tensors they pass in are moved there and every
    tensor that comes back is on the CPU, where the suite's own expectations are computed."""
    import torch

    return torch.device(_plugin(request)._device_name())


@pytest.fixture(scope="session")
def recipe(request: pytest.FixtureRequest, submission: Any) -> Any:
    """`recipe("torch.nn.Linear", 4, 2)`: an object tests pass into student code, built
    where the student's code runs (in the worker when sandboxed) from a named recipe."""
    plugin = _plugin(request)

    def build(name: str, *args: Any, **kwargs: Any) -> Any:
        worker = plugin.sources.worker
        if plugin.sandbox is None or worker is None:
            from autograder.core.recipes import build_recipe

            return build_recipe(name, args, kwargs)
        return plugin.sources.build_remote(name, args, kwargs)

    return build


@pytest.fixture
def threshold(request: pytest.FixtureRequest) -> Threshold:
    """`threshold.at_least("accuracy", value, 0.9, message)` (or `at_most`): a learning
    test's judgement, asserted with the message and recorded with the measured value in
    results.json's `extra_data.measurements` (benchmarks/calibrate.py reads them)."""
    plugin = _plugin(request)
    return Threshold(request.node.name, plugin.measurements.append)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> Any:
    """A numpy Generator seeded from the test's id (repeatable, different per test)."""
    import numpy as np

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def torch_rng(request: pytest.FixtureRequest) -> Any:
    """A torch.Generator (CPU) seeded from the test's id."""
    import torch

    return torch.Generator().manual_seed(zlib.crc32(request.node.nodeid.encode()))


def _sandbox_spec(request: GradeRequest) -> SandboxSpec | None:
    """The worker's sandbox in sandboxed mode, None in trusted mode."""
    if request.mode != "sandboxed":
        return None
    kind = choose_kind(request.sandbox_kind)
    container = None
    if kind in CONTAINER_KINDS:
        container = ContainerSpec(image=request.image, name="fdl-grade", gpus=request.gpus)
    return SandboxSpec(kind=kind, limits=request.limits, container=container,
                       device=request.device)


# when each visibility's messages reach the student, earliest first
SHOWN_IN_ORDER = ("visible", "after_due_date", "after_published", "hidden")


def _visibility_rank(item: pytest.Item) -> int:
    marker = item.get_closest_marker("visibility")
    value = marker.args[0] if marker and marker.args else "visible"
    return SHOWN_IN_ORDER.index(value) if value in SHOWN_IN_ORDER else len(SHOWN_IN_ORDER)


def _record_for(item: pytest.Item) -> TestRecord:
    points = item.get_closest_marker("points")
    value = float(points.args[0]) if points and points.args else 0.0
    if value < 0:
        raise ValueError("points must not be negative")
    vis = item.get_closest_marker("visibility")
    visibility = vis.args[0] if vis and vis.args else "visible"
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if item.get_closest_marker("gpu") and value > 0:
        raise ValueError("a gpu test may carry no points (every point must be earnable on a CPU)")
    tags = [m for m in ("slow", "gpu", "worker_reported") if item.get_closest_marker(m)]
    return TestRecord(name=item.name, max_score=value, visibility=visibility, tags=tags)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def _cuda_available() -> bool:
    """CUDA present? Only asks torch if the suite imported it (numpy suites stay fast).
    Asks NVML, not the CUDA runtime: the fork pool collects in its parent and then forks,
    and a runtime initialised before a fork cannot be used in the children."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return bool(torch.cuda.is_available())
