"""Mutants: realistic bugs that a hidden suite must catch.

A mutant file in `solutions/<slug>/mutants/NAME.py` holds a docstring describing the bug,
`FAILS = ["test_a", ...]` naming the hidden tests it must fail, and definitions that
replace the reference's. It is graded as the master's extracted code followed by the
mutant's code, so later definitions win.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from autograder.config import ConfigError
from autograder.extract import BLOCK_MARK


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    fails: tuple[str, ...]
    source: str
    path: Path


def load_mutant(path: Path) -> Mutant:
    """Parse a mutant file; ConfigError naming the file for anything malformed."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    description = ast.get_docstring(tree)
    if not description:
        raise ConfigError(f"{path}: start the mutant with a docstring describing the bug")
    fails = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "FAILS" for t in node.targets):
            try:
                fails = ast.literal_eval(node.value)
            except ValueError:
                fails = None
    if not (isinstance(fails, list) and fails and all(isinstance(f, str) for f in fails)):
        raise ConfigError(f"{path}: needs FAILS = ['test_name', ...] naming the tests it must fail")
    return Mutant(path.stem, description.splitlines()[0], tuple(fails), text, path)


def load_mutants(folder: Path) -> list[Mutant]:
    """All mutants of a module, sorted by name (none when the folder is missing)."""
    if not folder.is_dir():
        return []
    return [load_mutant(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]


def compose(reference_source: str, mutant: Mutant) -> str:
    """The module a mutant is graded as: reference blocks, then the mutant's block."""
    return f"{reference_source.rstrip()}\n\n{BLOCK_MARK}mutant {mutant.name} [mutant]\n{mutant.source}"
