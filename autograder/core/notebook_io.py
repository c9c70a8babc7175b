"""Reading notebooks defensively: every way a file can be unusable becomes one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from typing import Any


class NotebookNode(dict):
    """A dict with attribute access, like nbformat's NotebookNode (which costs a second
    to import through jsonschema; grading reads notebooks without it)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def from_dict(data: Any) -> Any:
    """Recursively wrap dicts as NotebookNode."""
    if isinstance(data, dict):
        return NotebookNode({k: from_dict(v) for k, v in data.items()})
    if isinstance(data, list):
        return [from_dict(v) for v in data]
    return data


class NotebookError(Exception):
    """The file is not a usable Jupyter notebook; the message names the file and the fix."""


MAX_NOTEBOOK_MB = 20.0  # larger notebooks are rejected unread (SandboxLimits.max_notebook_mb)


def read_notebook(path: Path, max_mb: float = MAX_NOTEBOOK_MB) -> NotebookNode:
    """Read an nbformat-4 notebook without executing anything.

    Raises NotebookError for a missing or oversized file, non-UTF-8 bytes, invalid JSON,
    a JSON document that is not a notebook, or an nbformat major version other than 4.
    """
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise NotebookError(f"{path}: {size / 2**20:.1f} MB is over the {max_mb:g} MB limit; "
                            f"clear the outputs (Edit > Clear All Outputs) and save again")
    raw = path.read_bytes()
    return parse_notebook(raw, str(path))


def parse_notebook(raw: bytes, name: str) -> NotebookNode:
    """Parse notebook bytes (see read_notebook for the errors raised)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{name}: not UTF-8 text (byte {exc.start}); save the notebook "
                            f"from Jupyter, which writes UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name}: not valid notebook JSON (line {exc.lineno}: {exc.msg}); "
                            f"the file is damaged: download it again or re-save it in Jupyter"
                            ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", None), list):
        raise NotebookError(f"{name}: JSON but not a Jupyter notebook (no list of cells)")
    major = data.get("nbformat")
    if major != 4:
        raise NotebookError(f"{name}: nbformat version {major!r} is not supported; open it in "
                            f"Jupyter 4 or newer and save it (nbformat 4)")
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"{name}: cell {i + 1} is malformed (no valid cell_type)")
        src = cell.get("source", "")
        if isinstance(src, list):
            if not all(isinstance(s, str) for s in src):
                raise NotebookError(f"{name}: cell {i + 1} has a malformed source")
            cell["source"] = "".join(src)
        elif not isinstance(src, str):
            raise NotebookError(f"{name}: cell {i + 1} has a malformed source")
        meta = cell.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise NotebookError(f"{name}: cell {i + 1} has malformed metadata")
    if not isinstance(data.setdefault("metadata", {}), dict):
        raise NotebookError(f"{name}: malformed notebook metadata")
    return from_dict(data)


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write deterministically (sorted keys, one-space indent, trailing newline)."""
    Path(path).write_text(dumps_notebook(nb), encoding="utf-8")


def dumps_notebook(nb: NotebookNode) -> str:
    """The canonical text of a notebook, as `write_notebook` stores it."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata, or {} when it has none (or it is malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_written_answer(cell: NotebookNode) -> bool:
    """A manually graded written answer: a markdown cell nbgrader marks grade + solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) \
        and bool(meta.get("solution"))


def cell_tags(cell: NotebookNode) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def notebook_slug(nb: NotebookNode) -> str | None:
    """The module slug `course assign` wrote into the notebook's metadata, if any."""
    course = nb.get("metadata", {}).get("course", {})
    slug = course.get("slug") if isinstance(course, dict) else None
    return slug if isinstance(slug, str) else None
