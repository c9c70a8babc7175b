"""Error kinds the engine distinguishes.

- `UserError`: something a user can fix (a bad path, notebook, config or CSV). The CLI
  prints its one-line message and exits with status 2; never a traceback.
- `GraderError`: the grading machinery itself failed (a broken suite, a crashed
  subprocess). Not a result: nothing is recorded and the next run retries.
- `StudentError`: raised on the trusted side when the student's code cannot be used at
  all (e.g. the notebook could not be read); tests that depend on it fail with its
  message, which is part of the student's feedback.
- `StudentCodeError`: an exception the student's code raised in the sandboxed worker,
  re-raised on the trusted side from the worker's reply (`reraised`); its type name,
  message and location are the student's text, carried as fields.
- `CallTimeout`: a test ran past its per-call time limit.
"""

from __future__ import annotations

import builtins
from typing import Literal

Kind = Literal["raised", "exit"]
RAISED: Kind = "raised"  # the student's code raised an exception
EXIT: Kind = "exit"  # the student's code raised SystemExit (sys.exit): `message` is its argument


class UserError(Exception):
    """A problem the person running the command can fix; the message is one line."""


class GraderError(Exception):
    """The grader, not the student, failed; the submission stays ungraded."""


class StudentError(Exception):
    """The submission cannot be used; the message explains it to the student."""


class CallTimeout(Exception):
    """A test ran past its per-call time limit of `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class StudentCodeError(Exception):
    """An exception from the student's code, re-raised from the sandboxed worker's reply.

    Every field is the student's text, as reported: `type_name` (a builtin's name, else
    "module.Name"), `message` (what the exception says), `location` ("cell 'x', line n"
    where the student's code raised it, or None) and `kind` (`RAISED`, or `EXIT` for
    SystemExit, whose argument is `message`). A builtin exception type is re-raised as
    a subclass of that type and of this class (`reraised`), so `pytest.raises(ValueError)`
    in a suite catches it as it would in trusted mode.
    """

    type_name: str = "Exception"
    message: str = ""
    location: str | None = None
    kind: Kind = RAISED


_STUDENT_TYPES: dict[type[Exception], type[StudentCodeError]] = {}


def _student_type(base: type[Exception]) -> type[StudentCodeError]:
    """The subclass of builtin `base` and `StudentCodeError`, named as `base`, made once."""
    made = _STUDENT_TYPES.get(base)
    if made is None:
        made = type(base.__name__, (base, StudentCodeError), {
            "__init__": base.__init__, "__qualname__": base.__qualname__,
            "__doc__": f"{base.__name__} raised by the student's code in the worker."})
        _STUDENT_TYPES[base] = made
    return made


def reraised(type_name: str, message: str, location: str | None,
             kind: Kind = RAISED) -> StudentCodeError:
    """The exception the trusted side raises for a worker's error reply.

    A builtin exception type (other than the iteration protocol's) comes back as an
    instance of that type built from `message` (its `message` field is what the rebuilt
    exception shows: str() of it); any other type, a builtin whose constructor wants
    more, and SystemExit come back as a plain `StudentCodeError` whose str() is
    "type: message" (or "sys.exit(message)" for `EXIT`).
    """
    exc: StudentCodeError | None = None
    base = getattr(builtins, type_name, None)
    if kind == RAISED and isinstance(base, type) and issubclass(base, Exception) and \
            base not in (StopIteration, StopAsyncIteration):
        try:
            exc = _student_type(base)(message)
            message = str(exc)
        except Exception:  # noqa: BLE001 - builtins with odd constructors
            exc = None
    if exc is None:
        exc = StudentCodeError(f"sys.exit({message})" if kind == EXIT else
                               f"{type_name}: {message}")
    exc.type_name, exc.message, exc.location, exc.kind = type_name, message, location, kind
    return exc
