"""Failure messages that teach, and never leak a hidden test's expected values.

The text of a failed test, from its exception and where in the student's cells it was
raised; the grader's plugin and a release bundle's checker both compose it here (each
finds the location in its own way: a pytest traceback, or the worker's report).

A failed assertion of the suite shows only the message the suite's author wrote (the
part before pytest's `assert ...` explanation, which may contain expected values). An
exception from the student's code shows where in the student's cells it was raised, and
its type and message as a quoted block (`student_text.student_block`): the first line
of every message is the grader's, and student text never starts a line of its own.
"""

from __future__ import annotations

from typing import Callable

from .errors import EXIT, CallTimeout, StudentCodeError, StudentError
from .student_text import one_line, student_block

Locate = Callable[[str, int], "str | None"]  # (file, line) -> "cell 'x', line n" or None


def failure_text(exc: BaseException, frame_location: str | None) -> str:
    """One short paragraph for the student about why a test failed with `exc`.

    `frame_location` is "cell 'x', line n" of the innermost traceback entry in the
    student's module, or None where the traceback does not pass through it. The
    exception is entirely the student's (type, message and all) when it came from the
    sandboxed worker (`StudentCodeError`) or its traceback passes through their module.

    What holds: the grader's own sentences (time limit, teaching errors, the suite's
    assertion messages) start at column 0; any text the student's code produced is
    inside a `student_block` or folded onto the grader's line by `one_line`.
    """
    if isinstance(exc, CallTimeout):
        return (f"Time limit: the test did not finish within {exc.seconds:g} s. Look for an "
                f"infinite loop, or a Python loop where a tensor operation would do.")
    where = exc.location if isinstance(exc, StudentCodeError) and exc.location else \
        frame_location
    if isinstance(exc, StudentCodeError) or where is not None:
        return student_exception_text(exc, where)
    if isinstance(exc, StudentError):
        return one_line(exception_text(exc), 1000)
    if isinstance(exc, AssertionError):
        return assertion_text(exc)
    return student_exception_text(exc, where)


def traceback_location(exc: BaseException, locate: Locate) -> str | None:
    """Where the innermost entry of `exc`'s traceback that `locate` places in the student's
    cells is, as "cell 'x', line n"; None where no entry is theirs. Every entry counts,
    those a frame hides from pytest's report (`__tracebackhide__`) too."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        line = tb.tb_lineno
        if line is not None:
            found = locate(tb.tb_frame.f_code.co_filename, line) or found
        tb = tb.tb_next
    return found


def assertion_text(exc: AssertionError) -> str:
    """The suite author's message of a failed assertion, without pytest's explanation
    (`assert ...`, which may show expected values)."""
    text = exception_text(exc).split("\nassert ", 1)[0].strip()
    if not text or text.startswith("assert "):
        return "A check in this test failed."
    return text


def student_exception_text(exc: BaseException, where: str | None) -> str:
    """The grader's line naming where, then the student's type and message quoted."""
    at = f" at {one_line(where, 120)}" if where else ""
    if isinstance(exc, NotImplementedError):
        return f"Not implemented yet: your code raises NotImplementedError{at}."
    if isinstance(exc, StudentCodeError):
        if exc.kind == EXIT:
            return f"Your code called sys.exit{at}:\n" + student_block(f"sys.exit({exc.message})")
        text = f"{exc.type_name}: {exc.message}"
    else:
        text = f"{type_name(exc)}: {exception_text(exc)}"
    block = student_block(text)
    return f"Your code raised an exception{at}:\n{block}" if block else \
        f"Your code raised an exception{at}."


def student_code_text(exc: BaseException) -> str:
    """"type: message" of an exception from the student's code, on one line of its own
    (for the grader's sentences that quote it inline)."""
    if isinstance(exc, StudentCodeError):
        return f"sys.exit({exc.message})" if exc.kind == EXIT else \
            f"{exc.type_name}: {exc.message}"
    return f"{type_name(exc)}: {exception_text(exc)}"


def type_name(exc: BaseException) -> str:
    """The exception's type name, even where a metaclass makes reading it fail."""
    try:
        return str(type(exc).__name__)
    except Exception:  # noqa: BLE001 - a student metaclass may raise anything
        return "<exception type without a name>"


def exception_text(exc: BaseException) -> str:
    """str(exc), even for an exception whose __str__ fails."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - student code's __str__ may raise anything
        return "<exception that cannot be printed>"
