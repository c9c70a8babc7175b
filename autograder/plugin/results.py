"""The results document: Gradescope's `results.json` schema plus our `extra_data`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autograder.core.student_text import one_line, student_block

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class TestRecord:
    """One graded test, as it appears in results.json's `tests` list."""

    name: str
    max_score: float
    score: float = 0.0
    status: str = "pending"  # "pending" until it ran, then "passed" | "failed"
    output: str = ""
    visibility: str = "visible"
    tags: list[str] = field(default_factory=list)
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "status": self.status, "output": self.output, "visibility": self.visibility,
                "tags": self.tags, "execution_time": round(self.duration, 3)}


@dataclass
class ResultsDocument:
    """Everything one grading run produces."""

    tests: list[TestRecord] = field(default_factory=list)
    output: str = ""
    execution_time: float = 0.0
    extra_data: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 6)

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "max_score": self.max_score,
                "execution_time": round(self.execution_time, 3), "output": self.output,
                "output_format": "text", "visibility": "visible",
                "tests": [t.to_json() for t in self.tests], "extra_data": self.extra_data}


SECTIONS = (("load_errors", "Cells that failed when loaded"),
            ("extraction_problems", "Problems with answer cells"),
            ("dropped_cells", "Left out of grading (only imports, def, class and constants "
                              "are graded)"))
MAX_ITEMS = 30  # per section
_LOAD_ERROR = re.compile(r"(cell (?:\d+|'[^'\n]*')): (.*)", re.DOTALL)


def summary_output(doc: ResultsDocument) -> str:
    """The top-level feedback text: score (from the numbers), where the code ran, then
    anything the extraction and loading reported (`summary_sections`)."""
    lines = [f"Score: {doc.score:g} / {doc.max_score:g}"]
    if doc.extra_data.get("sandbox"):
        lines.append(f"Ran in: {one_line(doc.extra_data['sandbox'])}")
    return "\n".join(lines + summary_sections(doc.extra_data))


def summary_sections(extra: Mapping[str, Any]) -> list[str]:
    """Lines listing load errors, extraction problems and dropped statements.

    What holds: only the section titles start at column 0; an item is a line starting
    with "  - ", folded onto that one line, and a load error's message (the student's
    exception) follows its cell as a `student_block`.
    """
    lines: list[str] = []
    for key, title in SECTIONS:
        items = section_items(extra.get(key))
        if not items:
            continue
        lines.append(f"{title}:")
        for item in items[:MAX_ITEMS]:
            label, detail = split_load_error(item) if key == "load_errors" else (None, item)
            if label is None:
                lines.append(f"  - {one_line(detail)}")
                continue
            lines.append(f"  - {one_line(label, 120)}:")
            block = student_block(detail, max_chars=500, max_lines=6)
            if block:
                lines.extend(block.split("\n"))
        if len(items) > MAX_ITEMS:
            lines.append(f"  ... and {len(items) - MAX_ITEMS} more")
    return lines


def section_items(value: Any) -> list[str]:
    """A section of extra_data as a list of strings (a dict lists "key: value")."""
    if not value:
        return []
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def split_load_error(item: str) -> tuple[str | None, str]:
    """("cell 'x'", the error its code raised) for a load error as the loader records it
    ("cell 'x': Type: message (line n)"); (None, item) for anything else."""
    match = _LOAD_ERROR.fullmatch(item)
    return (match.group(1), match.group(2)) if match else (None, item)
