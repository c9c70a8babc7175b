"""Failure messages that teach, and never leak a hidden test's expected values.

A failed assertion shows only the message the suite's author wrote (the part before
pytest's `assert ...` explanation, which may contain expected values). An exception
raised by the student's code shows its type, its message and where in the student's
cells it was raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from autograder.errors import StudentError


class CallTimeout(Exception):
    """A test ran past its per-call time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def failure_message(excinfo: pytest.ExceptionInfo[BaseException],
                    locate: Callable[[str, int], str | None]) -> str:
    """One short paragraph for the student about why a test failed."""
    exc = excinfo.value
    if isinstance(exc, CallTimeout):
        return (f"Time limit: the test did not finish within {exc.seconds:g} s. Look for an "
                f"infinite loop, or a Python loop where a tensor operation would do.")
    if isinstance(exc, StudentError):
        return str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ", 1)[0].strip()
        if not text or text.startswith("assert "):
            return "A check in this test failed."
        return text
    where = getattr(exc, "student_location", None) or _student_frame(excinfo, locate)
    if isinstance(exc, NotImplementedError):
        return "Not implemented yet: your code raises NotImplementedError" + (
            f" ({where})." if where else ".")
    text = f"{type(exc).__name__}: {exc}".strip()
    if type(exc).__name__ == "StudentException":  # already "Type: message" from the worker
        text = str(exc)
    if len(text) > 500:
        text = text[:497] + "..."
    if text.startswith("your code called"):
        return "Y" + text[1:] + (f"\n  at {where}" if where else "")
    return f"Your code raised {text}" + (f"\n  at {where}" if where else "")


def _student_frame(excinfo: pytest.ExceptionInfo[BaseException],
                   locate: Callable[[str, int], str | None]) -> str | None:
    """The innermost traceback entry inside the student's module, as 'cell 'x', line n'."""
    found = None
    for entry in excinfo.traceback:
        where = locate(str(Path(entry.path)), entry.lineno + 1)
        if where:
            found = where
    return found
