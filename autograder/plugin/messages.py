"""The failure message of a test, from pytest's account of its exception.

The text is composed by the core (`core.failures`), as in a release bundle's checker:
`failure_text` of the exception, placed in the student's cells by its traceback.
"""

from __future__ import annotations

import pytest

from autograder.core.failures import Locate, failure_text, traceback_location


def failure_message(excinfo: pytest.ExceptionInfo[BaseException], locate: Locate) -> str:
    """One short paragraph for the student about why a test failed (`failure_text`)."""
    return failure_text(excinfo.value, traceback_location(excinfo.value, locate))
