"""The bundle's offline checker: `check.py`, a small pytest plugin, and copies of the
grader's own notebook reading code, so a student's `python check.py` and `course check`
read a notebook the same way and reach the same verdicts.

The copied modules are standard library only; their `autograder.*` imports become
relative imports inside the bundle's `_fdl_check` package.
"""

from __future__ import annotations

import re
from pathlib import Path

import autograder

PACKAGE = "_fdl_check"
TEMPLATES = Path(__file__).with_name("templates")
_SRC = Path(autograder.__file__).parent
# bundle name -> the grader's source file it copies
COPIED = {
    "errors.py": _SRC / "errors.py",
    "notebook_io.py": _SRC / "notebook_io.py",
    "loader.py": _SRC / "loader.py",
    "extract.py": _SRC / "extract.py",
    "markers.py": _SRC / "plugin" / "markers.py",
    "view.py": _SRC / "plugin" / "view.py",
    "recipes.py": _SRC / "worker" / "recipes.py",
}
_IMPORT = re.compile(r"^from autograder(?:\.\w+)*\.(\w+) import ", re.MULTILINE)
_IMPORT_PKG = re.compile(r"^from autograder(?:\.\w+)* import ", re.MULTILINE)


def relative_imports(source: str) -> str:
    """`from autograder.x.y import z` -> `from .y import z`; `from autograder import y` ->
    `from . import y`. Anything else naming autograder is an error in the copy."""
    out = _IMPORT_PKG.sub("from . import ", _IMPORT.sub(r"from .\1 import ", source))
    leftover = [line for line in out.splitlines()
                if re.match(r"\s*(import|from)\s+autograder\b", line)]
    if leftover:
        raise ValueError(f"cannot copy into the bundle, absolute import left: {leftover[0]}")
    return out


def checker_files(slug: str, stub: bytes) -> dict[str, bytes]:
    """{path in the bundle: content} of the checker for module `slug`."""
    files = {f"{PACKAGE}/{name}": relative_imports(src.read_text(encoding="utf-8")).encode()
             for name, src in COPIED.items()}
    files[f"{PACKAGE}/__init__.py"] = b'"""Offline checker of this bundle (see check.py)."""\n'
    files[f"{PACKAGE}/plugin.py"] = (TEMPLATES / "plugin.py").read_bytes()
    files[f"{PACKAGE}/stub.ipynb"] = stub  # pristine copy: which cells are locked/answers
    check = (TEMPLATES / "check.py").read_text(encoding="utf-8").replace("{slug}", slug)
    files["check.py"] = check.encode()
    return files
