"""`course export csv|moodle|canvas`: the final grades as a file for people or an LMS.

Three formats, all UTF-8 CSV with a header row:

- `csv`: the whole final table (`gradebook.aggregate.final_grades`) with each student's
  name, email and LMS id: student_id, name, email, lms_id, one column per module slug,
  report, presentation, bonus, final, grade, grade_<scale>...
- `moodle`: for Moodle's "Import grades > CSV file". Moodle matches rows to its users by
  one identifier column chosen at import ("Map from" / "Map to"): map "Email address" to
  "useremail" (Moodle compares emails case-sensitively, so they are written as stored), or
  "User ID" (the student's `lms_id`, the Moodle user id) to "userid". Every other column is
  a grade item: one per module (its title), Report, Presentation, Bonus and Final grade, as
  plain numbers with a '.' decimal point (percent; bonus in percentage points). An empty cell
  means "no grade" to Moodle, so every student gets a number (0 when nothing was earned).
- `canvas`: for Canvas's "Gradebook > Import". The first five columns are the ones a Canvas
  export has: Student, ID (the Canvas user id: `lms_id`), SIS User ID (the course's student
  id), SIS Login ID (the email) and Section (empty); then one column per assignment as
  above. The second row is "Points Possible" with each assignment's maximum (100; the bonus
  cap for Bonus). Canvas matches a row by ID first and falls back to the SIS ids, then the
  name. Columns whose name is not an existing assignment become new assignments.

Letter grades are left out of the LMS files (both LMSs expect numbers in grade columns);
the csv format has them.

Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab
or carriage return before one) as a formula, so every text cell of every format that starts
with one of these gets a leading `'` (`safe_cell`), a student named `=HYPERLINK(...)`
included. Cells that are plain numbers (`-1.5`, `+3`) are written as they are.

`export` writes a file; `export_text` gives the same text (the web app's download), and
`gradebook_view` gives the final table together with the per-module breakdown (the web
app's gradebook page), all from the one `final_grades` that `course final` uses.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.aggregate import final_grades, module_breakdown
from gradebook.frames import load_frames
from gradebook.models import Student

FORMATS = ("csv", "moodle", "canvas")
MOODLE_ID_COLUMNS = ["Email address", "User ID", "Full name"]
CANVAS_ID_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it in its own exports
DECIMALS = 2
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, with a leading `'`.

    Text starting with =, +, -, @, a tab or a carriage return is escaped unless it is a
    plain number ("-1.5" stays); anything that is not a string is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _roster(engine: Engine) -> pd.DataFrame:
    """name, email, lms_id per student id (index student_id), in id order."""
    with Session(engine) as session:
        rows = session.execute(select(Student.id, Student.name, Student.email, Student.lms_id)
                               .order_by(Student.id)).all()
    frame = pd.DataFrame(rows, columns=["student_id", "name", "email", "lms_id"])
    return frame.set_index("student_id")


@dataclass(frozen=True)
class GradebookView:
    """The final table (as `final_table`) and the per-module parts of the same data.

    `parts` is `gradebook.aggregate.module_breakdown` (autograded, written, module_report,
    max_points, late_factor, score per (student_id, slug)).
    """

    table: pd.DataFrame
    parts: pd.DataFrame


def gradebook_view(course: Course, engine: Engine) -> GradebookView:
    """The final grades with names and their per-module parts, from one read of the book."""
    attempts, manual, extensions, students = load_frames(engine, course)
    parts = module_breakdown(course, attempts, manual, extensions, students)
    grades = final_grades(course, attempts, manual, extensions, students, breakdown=parts)
    return GradebookView(_roster(engine).join(grades, how="inner"), parts)


def final_table(course: Course, engine: Engine) -> pd.DataFrame:
    """The final grades with name, email and lms_id first (index student_id)."""
    return gradebook_view(course, engine).table


def grade_items(course: Course, table: pd.DataFrame) -> dict[str, tuple[pd.Series, float]]:
    """LMS grade item name -> (values rounded to 2 decimals, maximum), in column order."""
    items: dict[str, tuple[pd.Series, float]] = {}
    titles = [spec.title for spec in course.modules]
    for spec in course.modules:
        name = spec.title if titles.count(spec.title) == 1 else f"{spec.title} ({spec.slug})"
        items[name] = (table[spec.slug], 100.0)
    items["Report"] = (table["report"], 100.0)
    items["Presentation"] = (table["presentation"], 100.0)
    items["Bonus"] = (table["bonus"], float(course.bonus_cap))
    items["Final grade"] = (table["final"], 100.0)
    return {name: (values.astype(float).fillna(0.0).round(DECIMALS), top)
            for name, (values, top) in items.items()}


def _number(value: float) -> str:
    """A grade as Moodle and Canvas read it: '.' decimal point, no exponent, no trailing .0."""
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _write_rows(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)


def _export_csv(course: Course, table: pd.DataFrame, out: TextIO) -> None:
    safe = table.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    safe.index = safe.index.map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    safe.to_csv(out, index_label="student_id")


def _export_moodle(course: Course, table: pd.DataFrame, out: TextIO) -> None:
    items = grade_items(course, table)
    rows = [[str(table.at[sid, "email"]), _text(table.at[sid, "lms_id"]),
             str(table.at[sid, "name"])] + [_number(values[sid]) for values, _ in items.values()]
            for sid in table.index]
    _write_rows(out, MOODLE_ID_COLUMNS + list(items), rows)


def _export_canvas(course: Course, table: pd.DataFrame, out: TextIO) -> None:
    items = grade_items(course, table)
    points = [POINTS_POSSIBLE, "", "", "", ""] + [_number(top) for _, top in items.values()]
    rows = [[str(table.at[sid, "name"]), _text(table.at[sid, "lms_id"]), str(sid),
             str(table.at[sid, "email"]), ""]
            + [_number(values[sid]) for values, _ in items.values()]
            for sid in table.index]
    _write_rows(out, CANVAS_ID_COLUMNS + list(items), [points] + rows)


def _text(value: object) -> str:
    """A cell for an optional field: '' for None/NaN."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


WRITERS: dict[str, Callable[[Course, pd.DataFrame, TextIO], None]] = {
    "csv": _export_csv, "moodle": _export_moodle, "canvas": _export_canvas,
}


def default_name(course: Course, fmt: str) -> str:
    """The file name used when no output path is given, e.g. 'grades-moodle.csv'."""
    return "grades.csv" if fmt == "csv" else f"grades-{fmt}.csv"


def _writer(fmt: str) -> Callable[[Course, pd.DataFrame, TextIO], None]:
    """The writer of format `fmt` (any case); UserError naming the formats otherwise."""
    writer = WRITERS.get(fmt.lower())
    if writer is None:
        raise UserError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return writer


def export_text(course: Course, engine: Engine, fmt: str) -> str:
    """The text `export` writes for format `fmt` (the same characters, line ends included)."""
    writer = _writer(fmt)
    out = io.StringIO(newline="")
    writer(course, final_table(course, engine), out)
    return out.getvalue()


def export(course: Course, engine: Engine, fmt: str, out: Path) -> Path:
    """Write the final grades in format `fmt` (csv, moodle, canvas) to `out`; returns `out`.

    UserError (one line) for an unknown format or a folder that does not exist.
    """
    writer = _writer(fmt)
    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist; create it or pick "
                        f"another --out")
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer(course, final_table(course, engine), fh)
    return out
