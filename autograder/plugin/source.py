"""Turning the `--submission` and `--master` files into the modules tests use."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path
from typing import Any

from autograder import scratch
from autograder.core.errors import GraderError, StudentError
from autograder.core.extract import Extraction, extract
from autograder.core.loader import LoadedModule, load_blocks
from autograder.core.notebook_io import NotebookError, read_notebook
from autograder.core.submission import extract_notebook, load_view, write_module
from autograder.sandbox.policy import SandboxSpec
from autograder.worker.client import RemoteSubmission, Worker


class SourceLoader:
    """Builds `submission` and `reference` once per session and remembers what happened."""

    def __init__(self, submission: Path | None, master: Path | None, max_notebook_mb: float,
                 sandbox: SandboxSpec | None = None) -> None:
        self.submission_path = Path(submission).resolve() if submission else None
        self.master = Path(master).resolve() if master else None
        self.max_notebook_mb = max_notebook_mb
        self.workdir = scratch.make("grading")  # swept if this process is killed
        self.extraction: Extraction | None = None
        self.loaded: LoadedModule | None = None
        self.sandbox = sandbox  # None: trusted mode, the submission is imported here
        self.worker: Worker | None = None
        self._submission: Any = None
        self._reference: Any = None
        self._sha256 = _sha256(self.submission_path)  # once: extra_data is rebuilt per test

    # --- submission ----------------------------------------------------------
    def submission_view(self) -> Any:
        if self._submission is None:
            try:
                self._submission = self._load_submission()
            except StudentError as exc:
                self._submission = exc
        if isinstance(self._submission, StudentError):
            raise StudentError(str(self._submission))
        return self._submission

    def _load_submission(self) -> Any:
        if self.submission_path is None:
            raise GraderError("no --submission given: nothing to grade")
        if self.submission_path.suffix == ".py":
            module_file = self.submission_path
            problems: dict[str, str] = {}
        else:
            self.extraction = extract_notebook(self.submission_path, self._master_notebook(),
                                               self.max_notebook_mb)
            module_file = write_module(self.extraction, self.workdir)
            problems = self.extraction.problems
        if self.sandbox is not None:
            spec = self.sandbox
            if spec.container is not None:  # only the extracted module, read-only
                mount = self.workdir / "mount"
                mount.mkdir(exist_ok=True)
                (mount / "submission.py").write_text(module_file.read_text(encoding="utf-8"))
                mount.chmod(0o755)
                spec = dataclasses.replace(spec, container=dataclasses.replace(
                    spec.container, submission_dir=str(mount)))
            self.worker = Worker(spec, module_file.read_text(encoding="utf-8"))
            self.worker.ensure()
            return RemoteSubmission(self.worker, problems)
        self.loaded, view = load_view(module_file, problems)
        return view

    def build_remote(self, name: str, args: tuple, kwargs: dict) -> Any:
        """A recipe object built inside the worker (a handle)."""
        from autograder.worker.client import encode

        assert self.worker is not None
        return self.worker.request(("recipe", name, encode(list(args)),
                                    {k: encode(v) for k, v in kwargs.items()}),
                                   self.worker.call_timeout)

    def close(self) -> None:
        """Stop the worker, if any, and remove the extracted modules (the submission's and
        the reference's code, which no grading leaves behind in /tmp)."""
        if self.worker is not None:
            self.worker.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- reference -----------------------------------------------------------
    def reference_module(self) -> Any:
        if self._reference is None:
            master = self._master_notebook()
            extraction = extract(master, master)
            if extraction.problems:
                raise GraderError(f"the master notebook has problems: {extraction.problems}")
            module_file = self.workdir / "reference.py"
            module_file.write_text(extraction.render(), encoding="utf-8")
            loaded = load_blocks(module_file, "reference")
            if loaded.errors:
                raise GraderError(f"the reference failed to load: {loaded.errors}")
            self._reference = loaded.module
        return self._reference

    def _master_notebook(self) -> Any:
        if self.master is None:
            raise GraderError("no master notebook: pass --master or put <slug>.ipynb next to the suite")
        try:
            return read_notebook(self.master, max_mb=1e9)
        except NotebookError as exc:
            raise GraderError(f"master notebook unreadable: {exc}") from None

    # --- reporting -----------------------------------------------------------
    def locate(self, path: str, line: int) -> str | None:
        """Map a traceback location in the submission module to the student's cell."""
        return self.loaded.locate(path, line) if self.loaded is not None else None

    def extra_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "submission": str(self.submission_path) if self.submission_path else None,
            "submission_sha256": self._sha256,
            "dropped_cells": [], "extraction_problems": [], "load_errors": [],
            "integrity_flags": [],
        }
        if self.extraction is not None:
            data["dropped_cells"] = self.extraction.dropped
            data["extraction_problems"] = list(self.extraction.problems.values())
            data["integrity_flags"] = self.extraction.integrity_flags
        if self.loaded is not None:
            data["load_errors"] = [f"{label}: {err}" for label, err in self.loaded.errors.items()]
        if self.worker is not None:
            errors = self.worker.load_info.get("errors", {})
            data["load_errors"] = [f"{label}: {err}" for label, err in errors.items()]
            data["worker_restarts"] = self.worker.restarts
            data["worker_start_seconds"] = round(self.worker.start_seconds, 3)
            data["protections"] = dict(self.worker.protections)
        if isinstance(self._submission, StudentError):
            data["load_errors"].append(str(self._submission))
        return data


def _sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
