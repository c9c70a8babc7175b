"""Master notebook -> student stub, with nbgrader's own preprocessors as a library."""

from __future__ import annotations

import copy
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.config import ConfigError
from autograder.core.errors import UserError
from autograder.layout import ModuleLayout
from autograder.core.notebook_io import (NotebookError, NotebookNode, dumps_notebook,
                                   is_written_answer, nbgrader_meta, read_notebook)


def generate_stub(master: NotebookNode, slug: str, title: str = "") -> NotebookNode:
    """The student notebook for a master: solutions cleared, outputs cleared, cells locked,
    checksums computed (nbgrader's preprocessors), and the module slug in the metadata."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions, ComputeChecksums, LockCells
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme

    import nbformat

    nb = nbformat.from_dict(copy.deepcopy(master))
    resources: dict = {}
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme(),
                         ClearOutput(), LockCells(), ComputeChecksums()):
        try:
            nb, resources = preprocessor.preprocess(nb, resources)
        except RuntimeError as exc:  # nbgrader reports authoring mistakes this way
            raise UserError(f"master notebook of {slug!r}: {exc}") from None
    for cell in nb.cells:
        cell.pop("id", None)  # ids are random per save; keep the stub reproducible
        if cell.cell_type == "code":
            cell.execution_count = None
    nb.metadata["course"] = {"slug": slug, "title": title}
    return nb


@dataclass
class AssignResult:
    """What `course assign` wrote (or would write, with check=True)."""

    written: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)  # files that differ from what assign makes


NBGRADER_SCHEMA = 3  # the nbgrader cell-metadata version nbgrader 0.9 writes


def assign(layout: ModuleLayout, title: str, check: bool = False) -> AssignResult:
    """Write (or with check=True, compare) the stub and public tests of one module."""
    layout.require("master")
    try:
        master = read_notebook(layout.master, max_mb=1e9)
    except NotebookError as exc:
        raise UserError(str(exc)) from None
    _check_master(master, layout.master)
    outputs: dict[Path, bytes] = {
        layout.stub: dumps_notebook(generate_stub(master, layout.slug, title)).encode("utf-8")}
    if layout.public_src.is_dir():
        for src in sorted(layout.public_src.rglob("*")):
            if src.is_file() and "__pycache__" not in src.parts:
                outputs[layout.assignment_dir / src.relative_to(layout.public_src)] = src.read_bytes()
    data_dir = layout.solution_dir / "data"
    if data_dir.is_dir():
        for src in sorted(data_dir.rglob("*")):
            if src.is_file():
                outputs[layout.assignment_dir / "data" / src.relative_to(data_dir)] = src.read_bytes()
    result = AssignResult()
    for path, content in outputs.items():
        if not path.is_file() or path.read_bytes() != content:
            result.stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                result.written.append(path)
    if not check:
        _remove_orphans(layout, set(outputs))
    return result


def _check_master(master: NotebookNode, path: Path) -> None:
    """Authoring mistakes that would make a broken stub, as one line each."""
    seen: set[str] = set()
    for i, cell in enumerate(master.cells, start=1):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not meta:
            if "BEGIN SOLUTION" in cell.source:
                raise ConfigError(f"{path}: cell {i} has a solution region but no nbgrader "
                                  f"metadata; mark it as a solution cell")
            continue
        if not isinstance(gid, str) or not gid:
            raise ConfigError(f"{path}: cell {i} has nbgrader metadata without a grade_id")
        if gid in seen:
            raise ConfigError(f"{path}: grade_id {gid!r} is used twice; grade ids must be unique")
        seen.add(gid)
        _check_cell_meta(meta, cell.cell_type, f"{path}: cell {i} ({gid})")


def _check_cell_meta(meta: dict, cell_type: str, where: str) -> None:
    """nbgrader metadata this course can grade: a known schema, points on every graded
    answer cell, none on test cells (the hidden pytest suite carries the points)."""
    version = meta.get("schema_version", NBGRADER_SCHEMA)
    if not isinstance(version, int) or isinstance(version, bool) or version > NBGRADER_SCHEMA:
        raise ConfigError(f"{where}: nbgrader schema_version {version!r} is newer than "
                          f"{NBGRADER_SCHEMA}, the one this course reads; save the master "
                          f"with schema_version {NBGRADER_SCHEMA}")
    graded, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    points = meta.get("points")
    if graded and not solution and cell_type == "code":
        raise ConfigError(f"{where}: an nbgrader test cell (grade without solution); this "
                          f"course grades with the hidden pytest suite: move its checks and "
                          f"points there and unmark the cell")
    if graded:
        if points is None:
            raise ConfigError(f"{where}: a graded cell without points; set \"points\" in its "
                              f"nbgrader metadata")
        if isinstance(points, bool) or not isinstance(points, (int, float)) \
                or not math.isfinite(points) or points < 0:
            raise ConfigError(f"{where}: points {points!r} is not a number >= 0")
    elif points not in (None, 0):
        raise ConfigError(f"{where}: points {points!r} on a cell that is not graded; mark it "
                          f"graded or remove the points")


def _remove_orphans(layout: ModuleLayout, keep: set[Path]) -> None:
    """Delete generated files whose source is gone (a renamed public test)."""
    if not layout.assignment_dir.is_dir():
        return
    for path in layout.assignment_dir.rglob("*"):
        if path.is_file() and path not in keep and "__pycache__" not in path.parts:
            path.unlink()
    for cache in layout.assignment_dir.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def written_points(master: NotebookNode) -> float:
    """Points of the master's manually graded answer cells (markdown grade+solution)."""
    total = 0.0
    for cell in master.cells:
        if is_written_answer(cell):
            total += float(nbgrader_meta(cell).get("points", 0) or 0)
    return total
