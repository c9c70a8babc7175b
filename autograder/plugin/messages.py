"""Failure messages that teach, and never leak a hidden test's expected values.

A failed assertion of the suite shows only the message the suite's author wrote (the
part before pytest's `assert ...` explanation, which may contain expected values). An
exception from the student's code shows where in the student's cells it was raised, and
its type and message as a quoted block (`student_text.student_block`): the first line
of every message is the grader's, and student text never starts a line of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from autograder.core.errors import StudentError
from autograder.core.student_text import one_line, student_block

SYS_EXIT = "your code called sys.exit("  # how the worker reports a SystemExit


class CallTimeout(Exception):
    """A test ran past its per-call time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


Locate = Callable[[str, int], "str | None"]


def failure_message(excinfo: pytest.ExceptionInfo[BaseException], locate: Locate) -> str:
    """One short paragraph for the student about why a test failed.

    What holds: the grader's own sentences (time limit, teaching errors, the suite's
    assertion messages) start at column 0; any text the student's code produced is
    inside a `student_block` or folded onto the grader's line by `one_line`.
    """
    exc = excinfo.value
    if isinstance(exc, CallTimeout):
        return (f"Time limit: the test did not finish within {exc.seconds:g} s. Look for an "
                f"infinite loop, or a Python loop where a tensor operation would do.")
    where = student_location(excinfo, locate)
    if is_student_exception(exc, where):
        return _student_exception(exc, where)
    if isinstance(exc, StudentError):
        return one_line(_text(exc), 1000)
    if isinstance(exc, AssertionError):
        text = _text(exc).split("\nassert ", 1)[0].strip()
        if not text or text.startswith("assert "):
            return "A check in this test failed."
        return text
    return _student_exception(exc, where)


def is_student_exception(exc: BaseException, where: str | None) -> bool:
    """Whether the exception, its type and its message are entirely the student's: it was
    re-raised from a sandboxed worker's reply, or (trusted mode) its traceback passes
    through the student's module (`where` is that frame's location)."""
    return bool(getattr(exc, "from_student", False) or hasattr(exc, "student_location")
                or where is not None)


def student_location(excinfo: pytest.ExceptionInfo[BaseException],
                     locate: Locate) -> str | None:
    """'cell 'x', line n' where the student's code raised, if known."""
    where = getattr(excinfo.value, "student_location", None)
    if isinstance(where, str) and where:
        return where
    return _student_frame(excinfo, locate)


def _student_exception(exc: BaseException, where: str | None) -> str:
    """The grader's line naming where, then the student's type and message quoted."""
    at = f" at {one_line(where, 120)}" if where else ""
    if isinstance(exc, NotImplementedError):
        return f"Not implemented yet: your code raises NotImplementedError{at}."
    if type(exc).__name__ == "StudentException":  # from the worker: "Type: message" already
        text = _text(exc)
    else:
        text = f"{_type_name(exc)}: {_text(exc)}"
    if text.startswith(SYS_EXIT) and text.endswith(")"):
        argument = text[len(SYS_EXIT):-1]
        return f"Your code called sys.exit{at}:\n" + student_block(f"sys.exit({argument})")
    block = student_block(text)
    return f"Your code raised an exception{at}:\n{block}" if block else \
        f"Your code raised an exception{at}."


def _type_name(exc: BaseException) -> str:
    """The exception's type name, even where a metaclass makes reading it fail."""
    try:
        return str(type(exc).__name__)
    except Exception:  # noqa: BLE001 - a student metaclass may raise anything
        return "<exception type without a name>"


def _text(exc: BaseException) -> str:
    """str(exc), even for an exception whose __str__ fails."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - student code's __str__ may raise anything
        return "<exception that cannot be printed>"


def _student_frame(excinfo: pytest.ExceptionInfo[BaseException],
                   locate: Locate) -> str | None:
    """The innermost traceback entry inside the student's module, as 'cell 'x', line n'."""
    found = None
    for entry in excinfo.traceback:
        where = locate(str(Path(entry.path)), entry.lineno + 1)
        if where:
            found = where
    return found
