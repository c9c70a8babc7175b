"""The suite hash: what a grading result depends on besides the submission.

It covers the hidden suite, the reference master, the data files next to them (e.g.
dp_sgd's precomputed accountant oracle), the engine version and the limits, so a change
to any of them marks old results as stale for `--regrade`. Mutants and public tests do
not affect a student's grade and are left out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from autograder import __version__
from autograder.config import SandboxLimits
from autograder.layout import ModuleLayout


def suite_hash(layout: ModuleLayout, limits: SandboxLimits) -> str:
    """sha256 over suite, master, engine version and limits (hex, 16 chars shown is enough)."""
    h = hashlib.sha256()
    data = sorted(p for p in layout.solution_dir.rglob("*") if p.is_file()
                  and p not in (layout.hidden_suite, layout.master)
                  and not _ignored(p.relative_to(layout.solution_dir).parts)
                  ) if layout.solution_dir.is_dir() else []
    for path in (layout.hidden_suite, layout.master, *data):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
        h.update(b"\0")
    h.update(__version__.encode() + b"\0")
    h.update(json.dumps(dataclasses.asdict(limits), sort_keys=True).encode())
    return h.hexdigest()


def _ignored(parts: tuple[str, ...]) -> bool:
    """Mutants, public tests, caches and hidden files do not change a grade."""
    return (any(p in ("mutants", "public", "__pycache__") or p.startswith(".") for p in parts)
            or parts[-1].endswith(".pyc"))
