"""requirements.txt for a bundle: what the stub and public tests import, plus pytest,
pinned with their installed dependencies at the versions the course was validated with."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from autograder.core.errors import UserError

ALWAYS = ("pytest",)  # the checker runs the public tests with pytest


def imported_modules(sources: dict[str, str]) -> set[str]:
    """Top-level names of every import in the given {label: source} (syntax errors: none)."""
    names: set[str] = set()
    for text in sources.values():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def distributions_for(modules: set[str], where: str) -> set[str]:
    """Installed distributions providing these top-level modules (stdlib left out)."""
    provided = metadata.packages_distributions()
    found: set[str] = set()
    for name in sorted(modules - set(sys.stdlib_module_names) - {"__future__"}):
        dists = provided.get(name)
        if not dists:
            raise UserError(f"{where}: imports {name!r}, which is not installed here, so the "
                            f"course cannot pin it; install it or remove the import")
        found.add(_canonical(dists[0]))
    return found


def pinned(distributions: set[str]) -> list[str]:
    """`name==version` for the distributions and everything they require here, sorted.
    Local version labels (`2.13.0+cpu`) are dropped: the index serves the public version."""
    seen: dict[str, str] = {}
    todo = sorted(set(distributions) | set(ALWAYS))
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise UserError(f"package {name!r} is needed by the bundle but not installed "
                            f"here; run `make setup`") from None
        seen[name] = dist.version.split("+", 1)[0]
        for raw in dist.requires or []:
            try:
                req = Requirement(raw)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [f"{name}=={version}" for name, version in sorted(seen.items())]


def requirements_text(distributions: set[str], header: str) -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    return "\n".join(lines + pinned(distributions)) + "\n"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def module_sources(paths: list[Path]) -> dict[str, str]:
    """{file name: python source} of .py files as they are, and of .ipynb code cells."""
    from autograder.core.notebook_io import read_notebook

    out: dict[str, str] = {}
    for path in paths:
        if path.suffix == ".py":
            out[path.name] = path.read_text(encoding="utf-8")
        elif path.suffix == ".ipynb":
            cells = read_notebook(path).cells
            out[path.name] = "\n".join(
                "\n".join(line for line in c.source.splitlines()
                          if not line.lstrip().startswith(("%", "!")))
                for c in cells if c.cell_type == "code")
    return out
