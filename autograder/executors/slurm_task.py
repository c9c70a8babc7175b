"""One task of a Slurm grading array: `python -m autograder.executors.slurm_task JOBDIR I`.

Reads `JOBDIR/requests/I.json`, grades it with `run_suite`, and writes
`JOBDIR/outcomes/I.json` atomically: `{"outcome": {...}}` or `{"error": "..."}` for a
grader error. It never touches the gradebook; the submitting process collects.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from autograder.engine import run_suite
from autograder.request import GradeRequest
from autograder.core.errors import GraderError, UserError


def run_task(jobdir: Path, index: int) -> dict:
    request = GradeRequest.from_json(json.loads((jobdir / "requests" / f"{index}.json").read_text()))
    try:
        return {"outcome": run_suite(request).to_json()}
    except (GraderError, UserError) as exc:
        return {"error": str(exc)[:4000]}


def main(argv: list[str]) -> int:
    jobdir, index = Path(argv[0]), int(argv[1])
    doc = run_task(jobdir, index)
    out = jobdir / "outcomes" / f"{index}.json"
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
