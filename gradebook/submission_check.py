"""Is an uploaded file a notebook of this module, and which answer cells are missing?

What holds:

- `check_depth` refuses JSON nested deeper than `MAX_JSON_DEPTH` levels before any JSON
  parser sees the bytes: strings are skipped (escapes honoured) by a regular expression
  and the nesting of the remaining `[`/`{` is summed in C, so a 20 MB `[[[[...` is
  refused in well under a second and never reaches `json.loads` (no RecursionError).
- `check_submission(course, slug, content, name)` parses the file with
  `autograder.core.notebook_io.parse_notebook`; a file that is not a notebook is a
  UserError saying so.
- The module's answer cells are the cells of its master
  (`module_layout(course, slug).master`) whose nbgrader metadata has `solution` or
  `grade` set, keyed by `grade_id`; each master is parsed once per version of the file
  (cached by path, mtime_ns and size).
- An upload holding none of the module's answer cells is refused (UserError): when it
  holds most (more than half) of another module's answer cells the message names that
  module, otherwise it says to download the assignment notebook. A module whose master
  has no answer cells accepts any notebook.
- Otherwise the upload is accepted, with one warning per answer cell that is missing
  ("graded as empty") or whose cell type differs from the master's ("retyped"); grading
  treats the notebook as `course collect` does. Cells are found by grade_id only; the
  first cell with a grade_id counts when a notebook repeats it.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.config import ConfigError, Course
from autograder.core.errors import UserError
from autograder.core.notebook_io import NotebookError, NotebookNode, nbgrader_meta, parse_notebook
from autograder.layout import module_layout

MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # unterminated: to the end
_OPEN, _CLOSE = b"\x01", b"\xff"  # +1 and -1 as signed bytes
_BRACKETS = bytes.maketrans(b"[{]}", _OPEN * 2 + _CLOSE * 2)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")
MOST = 0.5  # more than this share of another module's answer cells names that module

AnswerCells = dict[str, str]  # grade_id -> cell_type, in notebook order


@dataclass(frozen=True)
class SubmissionCheck:
    """An accepted upload's warnings (one line per answer cell that differs)."""

    warnings: tuple[str, ...] = ()


def check_depth(content: bytes) -> None:
    """UserError when `content` nests `[`/`{` (outside JSON strings) deeper than MAX_JSON_DEPTH."""
    structure = _STRING.sub(b"", content).translate(_BRACKETS, _NOT_BRACKETS)
    if not structure:
        return
    deepest = max(itertools.accumulate(memoryview(structure).cast("b")))
    if deepest > MAX_JSON_DEPTH:
        raise UserError(f"the file nests JSON deeper than {MAX_JSON_DEPTH} levels; "
                        f"it is not a Jupyter notebook")


def answer_cells(nb: NotebookNode) -> AnswerCells:
    """grade_id -> cell type of the notebook's nbgrader solution or graded cells."""
    cells: AnswerCells = {}
    for cell in nb.get("cells", []):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if (meta.get("solution") or meta.get("grade")) and isinstance(gid, str) and gid:
            cells.setdefault(gid, str(cell.get("cell_type")))
    return cells


def _all_grade_ids(nb: NotebookNode) -> AnswerCells:
    """grade_id -> cell type of every cell with a grade_id (a student may clear the flags)."""
    cells: AnswerCells = {}
    for cell in nb.get("cells", []):
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str) and gid:
            cells.setdefault(gid, str(cell.get("cell_type")))
    return cells


@functools.lru_cache(maxsize=32)
def _master_cells(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(answer_cells(parse_notebook(Path(path).read_bytes(), path)).items())
    except NotebookError as exc:
        raise UserError(str(exc)) from None


def master_answer_cells(course: Course, slug: str) -> AnswerCells:
    """The answer cells of the module's master, parsed once per version of the file."""
    layout = module_layout(course, slug)
    layout.require("master")
    stat = layout.master.stat()
    return dict(_master_cells(str(layout.master), stat.st_mtime_ns, stat.st_size))


def _parse(content: bytes, name: str) -> NotebookNode:
    check_depth(content)
    try:
        return parse_notebook(content, name)
    except NotebookError as exc:
        raise UserError(f"this is not a Jupyter notebook ({exc})") from None


def _other_module(course: Course, slug: str, found: AnswerCells) -> str | None:
    """The other module most of whose answer cells the upload holds, if any."""
    best, best_share = None, MOST
    for module in course.modules:
        if module.slug == slug:
            continue
        try:
            theirs = master_answer_cells(course, module.slug)
        except (ConfigError, UserError):
            continue  # a module without a (readable) master yet
        if not theirs:
            continue
        share = len(theirs.keys() & found.keys()) / len(theirs)
        if share > best_share:
            best, best_share = module.slug, share
    return best


def _warnings(master: AnswerCells, found: AnswerCells) -> tuple[str, ...]:
    lines = []
    for gid, kind in master.items():
        if gid not in found:
            lines.append(f"answer cell {gid!r} is missing: it will be graded as empty")
        elif found[gid] != kind:
            lines.append(f"answer cell {gid!r} was changed from a {kind} cell to a "
                         f"{found[gid]} cell")
    return tuple(lines)


def check_submission(course: Course, slug: str, content: bytes, name: str) -> SubmissionCheck:
    """Accept (with warnings) or refuse (UserError) an uploaded notebook for module `slug`."""
    found = _all_grade_ids(_parse(content, name))
    master = master_answer_cells(course, slug)
    if master and not master.keys() & found.keys():
        other = _other_module(course, slug, found)
        if other is not None:
            raise UserError(f"this looks like the notebook of module {other} "
                            f"({course.module(other).title}); upload it there")
        raise UserError(f"this notebook has none of module {slug}'s answer cells; download "
                        f"the assignment notebook from this page and work in it")
    return SubmissionCheck(_warnings(master, found))
