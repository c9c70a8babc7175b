"""pytest plugin of a release bundle's checker: the fixtures and markers the public tests
use, with the notebook loaded and failures explained exactly as the course's grader does
in trusted mode (the modules next to this file are copies of the grader's core:
`submission.load_notebook`, `failures.failure_text`)."""

from __future__ import annotations

import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any, Generator

import pytest

from .errors import StudentError
from .failures import failure_text, traceback_location
from .loader import LoadedModule
from .markers import MARKERS
from .notebook_io import NotebookError, read_notebook
from .recipes import build_recipe
from .submission import load_notebook


check_key = pytest.StashKey["CheckPlugin"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fdl-check", "checking a notebook offline")
    group.addoption("--notebook", type=Path, required=True, help="the notebook to check")
    group.addoption("--stub", type=Path, required=True,
                    help="the pristine stub: which cells are locked and which are answers")


def pytest_configure(config: pytest.Config) -> None:
    for marker, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {doc}")
    plugin = CheckPlugin(config.getoption("notebook"), config.getoption("stub"))
    config.stash[check_key] = plugin
    config.pluginmanager.register(plugin, "fdl-check")


class CheckPlugin:
    """Loads the notebook once and records one verdict per test."""

    def __init__(self, notebook: Path, stub: Path) -> None:
        self.notebook = notebook
        self.stub = stub
        self.verdicts: dict[str, str] = {}  # test name -> "passed" | "failed"
        self.messages: dict[str, str] = {}
        self._submission: Any = None
        self._loaded: LoadedModule | None = None
        self._folder: Path | None = None  # the extracted module, removed when pytest ends

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.failed:
            if report.failed or name not in self.verdicts:
                self.verdicts[name] = "passed" if report.passed else "failed"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        """The first failure of each test explained as the grader explains it."""
        report = yield
        name = item.nodeid.split("::")[-1]
        if report.failed and call.excinfo is not None and name not in self.messages:
            exc = call.excinfo.value
            self.messages[name] = failure_text(exc, traceback_location(exc, self.locate))
        return report

    def load(self) -> Any:
        if self._submission is None:
            try:
                stub = read_notebook(self.stub)
            except NotebookError as exc:
                self._submission = StudentError(f"Your notebook could not be read: {exc}")
            else:
                self._folder = Path(tempfile.mkdtemp(prefix="fdl-check-"))
                try:
                    loaded = load_notebook(self.notebook, stub, self._folder)
                except StudentError as exc:
                    self._submission = exc
                else:
                    self._loaded, self._submission = loaded.loaded, loaded.view
        if isinstance(self._submission, StudentError):
            raise StudentError(str(self._submission))
        return self._submission

    def locate(self, filename: str, line: int) -> str | None:
        """Where a traceback line of the notebook's module is, in the student's cells."""
        return self._loaded.locate(filename, line) if self._loaded is not None else None

    def print_summary(self) -> None:
        passed = sum(v == "passed" for v in self.verdicts.values())
        print(f"{self.notebook.name}: {passed}/{len(self.verdicts)} public checks passed")
        for name, verdict in self.verdicts.items():
            line = f"  {'PASS' if verdict == 'passed' else 'FAIL'}  {name}"
            if name in self.messages:  # its later lines (student text quoted) indented
                line += ": " + self.messages[name].replace("\n", "\n        ")
            print(line)


# --- fixtures: the same names and meaning as the course's grader ----------------------
@pytest.fixture(scope="session")
def submission(request: pytest.FixtureRequest) -> Any:
    """Your definitions, as the grader sees them."""
    return request.config.stash[check_key].load()


@pytest.fixture(scope="session")
def device() -> Any:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(scope="session")
def recipe() -> Any:
    return lambda name, *args, **kwargs: build_recipe(name, args, kwargs)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> Any:
    import numpy as np

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def torch_rng(request: pytest.FixtureRequest) -> Any:
    import torch

    return torch.Generator().manual_seed(zlib.crc32(request.node.nodeid.encode()))
