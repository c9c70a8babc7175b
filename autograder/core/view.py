"""The `submission` object tests see in trusted mode: the student's module, with
missing names explained in terms of the student's notebook."""

from __future__ import annotations

from typing import Any

from .errors import StudentError
from .loader import LoadedModule


class MissingDefinition(StudentError, AttributeError):
    """The notebook does not define a name a test needs."""


class SubmissionView:
    """Attribute access to the student's definitions; a missing one is a teaching error."""

    def __init__(self, loaded: LoadedModule, problems: dict[str, str]) -> None:
        object.__setattr__(self, "_loaded", loaded)
        object.__setattr__(self, "_problems", problems)

    def __getattr__(self, name: str) -> Any:
        module = self._loaded.module
        try:
            return getattr(module, name)
        except AttributeError:
            pass
        raise missing_definition(name, self._problems, self._loaded.errors)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("tests may not modify the submission")

    def __dir__(self) -> list[str]:
        return sorted(vars(self._loaded.module))

    def __repr__(self) -> str:
        return f"<submission from {self._loaded.path.name}>"


def missing_definition(name: str, problems: dict[str, str],
                       load_errors: dict[str, str]) -> MissingDefinition:
    """A teaching error for a name the notebook does not define, with the likely cause
    (a load error, the student's exception text, is quoted as a Python string)."""
    hints = [msg for key, msg in problems.items() if key == name]
    hints += [f"{label} failed when loaded: {err!r}" for label, err in load_errors.items()
              if name in label]
    if not hints:
        hints = [f"{label} failed when loaded: {err!r}" for label, err in load_errors.items()]
    hints += [m for k, m in problems.items() if k != name]
    detail = "; ".join(hints[:3]) if hints else \
        "check the function's name and that its cell is a code cell"
    return MissingDefinition(f"Your notebook does not define `{name}` ({detail})")
