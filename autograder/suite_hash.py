"""The suite hash: what a grading result depends on besides the submission.

It covers the hidden suite, the reference master, the engine version and the limits, so
a change to any of them marks old results as stale for `--regrade`.
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
    for path in (layout.hidden_suite, layout.master):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
        h.update(b"\0")
    h.update(__version__.encode() + b"\0")
    h.update(json.dumps(dataclasses.asdict(limits), sort_keys=True).encode())
    return h.hexdigest()
