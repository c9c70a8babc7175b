"""Master notebook -> student stub, with nbgrader's own preprocessors as a library."""

from __future__ import annotations

import copy
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
    warnings: list[str] = field(default_factory=list)  # check_master's, one line each


NBGRADER_SCHEMA = 3  # the nbgrader cell-metadata version nbgrader 0.9 writes


def assign(layout: ModuleLayout, title: str, check: bool = False) -> AssignResult:
    """Write (or with check=True, compare) the stub and public tests of one module."""
    layout.require("master")
    try:
        master = read_notebook(layout.master, max_mb=1e9)
    except NotebookError as exc:
        raise UserError(str(exc)) from None
    warnings = check_master(master, layout.master)
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
    result = AssignResult(warnings=warnings)
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


def check_master(master: NotebookNode, path: Path) -> list[str]:
    """nbgrader's own metadata check, then this course's rules, cell by cell. Every
    problem is one line naming the file, the cell and the fix; all of them are raised
    together as one ConfigError. Returns the warnings: points that nbgrader would count
    and this course does not (an nbgrader test cell: the hidden suite carries the points)."""
    from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, \
        SchemaTooOldError, ValidationError

    validator = MetadataValidator()
    problems: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(master.cells, start=1):
        meta = nbgrader_meta(cell)
        if not meta:
            if "BEGIN SOLUTION" in cell.source:
                problems.append(f"{path}: cell {i} has a solution region but no nbgrader "
                                f"metadata; mark it as a solution cell")
            continue
        gid = meta.get("grade_id")
        where = f"{path}: cell {i}" + (f" ({gid})" if isinstance(gid, str) and gid else "")
        try:
            validator.validate_cell(cell)
        except SchemaTooNewError as exc:
            problems.append(f"{where}: nbgrader schema_version {exc.actual_version!r} is newer "
                            f"than {NBGRADER_SCHEMA}, the one this course reads; save the "
                            f"master with schema_version {NBGRADER_SCHEMA}")
            continue
        except SchemaTooOldError as exc:
            problems.append(f"{where}: nbgrader schema_version {exc.actual_version!r} is older "
                            f"than {NBGRADER_SCHEMA}; run `nbgrader update` on the master")
            continue
        except ValidationError as exc:
            problems.append(f"{where}: {_nbgrader_problem(exc, meta)}")
            continue
        if gid in seen:
            problems.append(f"{where}: grade_id {gid!r} is used twice; grade ids must be unique")
        seen.add(gid)
        graded, solution = bool(meta.get("grade")), bool(meta.get("solution"))
        points = meta.get("points")
        if graded and not solution and cell.cell_type == "code" and points:
            warnings.append(f"{where}: nbgrader would count the {points:g} points of this "
                            f"test cell; this course does not (the hidden pytest suite "
                            f"carries the points): move its checks and points there")
        elif not graded and points not in (None, 0):
            problems.append(f"{where}: points {points!r} on a cell that is not graded; mark "
                            f"it graded or remove the points")
    if problems:
        raise ConfigError("\n".join(problems))
    return warnings


def _nbgrader_problem(exc: Exception, meta: dict) -> str:
    """nbgrader's complaint as one line with the fix."""
    if "does not have points" in str(exc):
        return "a graded cell without points; set \"points\" in its nbgrader metadata"
    if getattr(exc, "validator", None) and getattr(exc, "path", None):  # the JSON schema
        field = ".".join(str(p) for p in exc.path)
        return (f"nbgrader metadata field {field!r} = {meta.get(field)!r} is invalid "
                f"({str(exc.message).splitlines()[0]}); fix it in the cell's metadata")
    return str(exc).splitlines()[0] + "; fix the cell's nbgrader metadata"


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
