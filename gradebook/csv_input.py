"""Reading a CSV that staff exported from a spreadsheet or an LMS: one clear line for a
file that cannot be read, header names normalised, `;` accepted where a spreadsheet in
a German locale wrote it."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.core.errors import UserError


def read_csv(path: Path, what: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(lower-cased header, [(line number, {column: stripped value})]) of a UTF-8 CSV.

    `what` names the file's content in errors ("the roster", "the scores").
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8; export {what} as CSV UTF-8") from None
    lines = text.splitlines()
    first = lines[0] if lines else ""
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.DictReader(lines, delimiter=delimiter)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    rows = [(line, {(k or "").strip().lower(): (v or "").strip()
                    for k, v in raw.items() if k and isinstance(v, str)})
            for line, raw in enumerate(reader, start=2)]
    return header, rows
