"""The failure message of a test, from pytest's account of its exception.

The text itself is composed by the core (`core.failures.failure_text`, which a release
bundle's checker uses too); what is pytest's here is finding where in the student's
cells the exception passed: the innermost traceback entry in the student's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from autograder.core.failures import failure_text

Locate = Callable[[str, int], "str | None"]  # (file, line) -> "cell 'x', line n" or None


def failure_message(excinfo: pytest.ExceptionInfo[BaseException], locate: Locate) -> str:
    """One short paragraph for the student about why a test failed (`failure_text`)."""
    return failure_text(excinfo.value, student_frame(excinfo, locate))


def student_frame(excinfo: pytest.ExceptionInfo[BaseException],
                  locate: Locate) -> str | None:
    """The innermost traceback entry inside the student's module, as 'cell 'x', line n'."""
    found = None
    for entry in excinfo.traceback:
        where = locate(str(Path(entry.path)), entry.lineno + 1)
        if where:
            found = where
    return found
