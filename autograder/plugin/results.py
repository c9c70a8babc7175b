"""The results document: Gradescope's `results.json` schema plus our `extra_data`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def summary_output(doc: ResultsDocument) -> str:
    """The top-level feedback text: score, then anything the extraction reported."""
    extra = doc.extra_data
    lines = [f"Score: {doc.score:g} / {doc.max_score:g}"]
    if extra.get("sandbox"):
        lines.append(f"Ran in: {extra['sandbox']}")
    for key, title in (("load_errors", "Cells that failed when loaded"),
                       ("extraction_problems", "Problems with answer cells"),
                       ("dropped_cells", "Left out of grading (only imports, def, class and "
                                         "constants are graded)")):
        items = extra.get(key) or []
        if isinstance(items, dict):
            items = [f"{k}: {v}" for k, v in items.items()]
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item}" for item in items[:30])
            if len(items) > 30:
                lines.append(f"  ... and {len(items) - 30} more")
    return "\n".join(lines)
