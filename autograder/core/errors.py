"""Error kinds the engine distinguishes.

- `UserError`: something a user can fix (a bad path, notebook, config or CSV). The CLI
  prints its one-line message and exits with status 2; never a traceback.
- `GraderError`: the grading machinery itself failed (a broken suite, a crashed
  subprocess). Not a result: nothing is recorded and the next run retries.
- `StudentError`: raised on the trusted side when the student's code cannot be used at
  all (e.g. the notebook could not be read); tests that depend on it fail with its
  message, which is part of the student's feedback.
"""


class UserError(Exception):
    """A problem the person running the command can fix; the message is one line."""


class GraderError(Exception):
    """The grader, not the student, failed; the submission stays ungraded."""


class StudentError(Exception):
    """The submission cannot be used; the message explains it to the student."""
