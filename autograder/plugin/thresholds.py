"""Learning tests' judgements: a measured value against a threshold, asserted and recorded.

A test that trains something judges the outcome with the `threshold` fixture:
`threshold.at_most("final loss", loss, 2.1, "the loss did not fall ...")`. The value is
recorded whether or not it passes (results.json, `extra_data.measurements`), so
`benchmarks/calibrate.py` can show how far each threshold lies from what correct
implementations reach, over many seeds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Measurement:
    """One judged value: `value` must be >= `limit` ("at_least") or <= it ("at_most")."""

    test: str
    name: str
    value: float
    limit: float
    direction: str  # "at_least" | "at_most"

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value >= self.limit if self.direction == "at_least" else self.value <= self.limit

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = self.value if math.isfinite(self.value) else str(self.value)
        return data


class Threshold:
    """The `threshold` fixture of one test."""

    def __init__(self, test: str, record: Callable[[Measurement], None]) -> None:
        self._test, self._record = test, record

    def at_least(self, name: str, value: float, limit: float, message: str) -> None:
        self._judge(name, value, limit, "at_least", message)

    def at_most(self, name: str, value: float, limit: float, message: str) -> None:
        self._judge(name, value, limit, "at_most", message)

    def _judge(self, name: str, value: float, limit: float, direction: str, message: str) -> None:
        measured = Measurement(self._test, name, float(value), float(limit), direction)
        self._record(measured)
        assert measured.passed, message
