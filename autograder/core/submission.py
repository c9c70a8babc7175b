"""The student's notebook as the module tests use: read it, extract its graded code by
the cells of the stub (or the master), write that module and load it block by block.

The grader's trusted mode (`autograder/plugin/source.py`) and a release bundle's checker
both load a notebook here, so they see the same definitions and the same teaching
errors; the grader's sandboxed mode extracts and writes the module the same way and
loads it in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import StudentError
from .extract import Extraction, extract
from .loader import LoadedModule, load_blocks
from .notebook_io import MAX_NOTEBOOK_MB, NotebookError, NotebookNode, read_notebook
from .view import SubmissionView

MODULE_NAME = "submission"  # the module's name in sys.modules and its file's stem


@dataclass
class LoadedSubmission:
    """A notebook loaded for the tests: what was extracted, the module and its view."""

    extraction: Extraction
    loaded: LoadedModule
    view: SubmissionView


def extract_notebook(path: Path, stub: NotebookNode, max_mb: float = MAX_NOTEBOOK_MB) -> Extraction:
    """The graded code of the notebook at `path`, by the cells of `stub`. A file that is
    not a usable notebook (or is over `max_mb`) is a `StudentError` saying why."""
    try:
        notebook = read_notebook(path, max_mb)
    except NotebookError as exc:
        raise StudentError(f"Your notebook could not be read: {exc}") from None
    return extract(notebook, stub)


def write_module(extraction: Extraction, folder: Path) -> Path:
    """The extracted module written as `folder`/submission.py; returns its path."""
    module_file = Path(folder) / f"{MODULE_NAME}.py"
    module_file.write_text(extraction.render(), encoding="utf-8")
    return module_file


def load_view(module_file: Path, problems: dict[str, str]) -> tuple[LoadedModule, SubmissionView]:
    """The module of `module_file` loaded block by block, and its view for the tests
    (a missing name explained by `problems`, the extraction's, and the load errors)."""
    loaded = load_blocks(module_file, MODULE_NAME)
    return loaded, SubmissionView(loaded, problems)


def load_notebook(path: Path, stub: NotebookNode, folder: Path,
                  max_mb: float = MAX_NOTEBOOK_MB) -> LoadedSubmission:
    """The notebook at `path` extracted by `stub`, written into `folder` and loaded; a
    `StudentError` where it cannot be read."""
    extraction = extract_notebook(path, stub, max_mb)
    loaded, view = load_view(write_module(extraction, folder), extraction.problems)
    return LoadedSubmission(extraction, loaded, view)
