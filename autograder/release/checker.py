"""The bundle's offline checker: `check.py`, a small pytest plugin, and the grader's
standard-library core (autograder/core/), copied byte for byte, so a student's
`python check.py` and `course check` read a notebook the same way and reach the same
verdicts.

The core's files import only the standard library and each other (relative imports),
so as the bundle's `_fdl_check` package they run unchanged.
"""

from __future__ import annotations

from pathlib import Path

from autograder import core

PACKAGE = "_fdl_check"
TEMPLATES = Path(__file__).with_name("templates")
CORE = Path(core.__file__).parent


def core_files() -> dict[str, Path]:
    """{file name in the bundle's package: the core's source file}."""
    return {src.name: src for src in sorted(CORE.glob("*.py"))}


def checker_files(slug: str, stub: bytes) -> dict[str, bytes]:
    """{path in the bundle: content} of the checker for module `slug`."""
    files = {f"{PACKAGE}/{name}": src.read_bytes() for name, src in core_files().items()}
    files[f"{PACKAGE}/plugin.py"] = (TEMPLATES / "plugin.py").read_bytes()
    files[f"{PACKAGE}/stub.ipynb"] = stub  # pristine copy: which cells are locked/answers
    check = (TEMPLATES / "check.py").read_text(encoding="utf-8").replace("{slug}", slug)
    files["check.py"] = check.encode()
    return files
