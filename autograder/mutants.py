"""Mutants: realistic bugs that a hidden suite must catch.

A mutant file in `solutions/<slug>/mutants/NAME.py` holds a docstring describing the bug,
`FAILS = ["test_a", ...]` naming the hidden tests it must fail, and either definitions
that replace the reference's (graded as the master's extracted code followed by the
mutant's code, so later definitions win), or `PATCH = [("old text", "new text"), ...]`:
edits of the reference's code, each `old text` found exactly once there. A patch states a
one-line bug in a long function (a missing `optimizer.step()`) without copying the
function, and follows the reference when it changes.
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
    patches: tuple[tuple[str, str], ...] = ()


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
    return Mutant(path.stem, description.splitlines()[0], tuple(fails), text, path,
                  _patches(path, tree))


def _patches(path: Path, tree: ast.Module) -> tuple[tuple[str, str], ...]:
    """The PATCH list, checked: (old, new) pairs of strings, old non-empty and != new."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "PATCH" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
            if not (isinstance(value, list) and value and all(
                    isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
                    and pair[0] and pair[0] != pair[1] for pair in value)):
                raise ConfigError(f"{path}: PATCH must be a list of (old text, new text) pairs "
                                  f"of strings, each old text non-empty and changed")
            return tuple(value)
    return ()


def apply_patches(text: str, mutant: Mutant, where: str = "the reference") -> str:
    """`text` with each of the mutant's (old, new) edits; ConfigError naming the mutant file
    when an old text is not found exactly once."""
    for old, new in mutant.patches:
        count = text.count(old)
        if count != 1:
            raise ConfigError(f"{mutant.path}: PATCH text {old.strip()[:60]!r} found {count} "
                              f"times in {where}; it must occur exactly once")
        text = text.replace(old, new)
    return text


def load_mutants(folder: Path) -> list[Mutant]:
    """All mutants of a module, sorted by name (none when the folder is missing)."""
    if not folder.is_dir():
        return []
    return [load_mutant(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]


def compose(reference_source: str, mutant: Mutant) -> str:
    """The module a mutant is graded as: reference blocks (patched), then the mutant's block."""
    reference_source = apply_patches(reference_source, mutant)
    return f"{reference_source.rstrip()}\n\n{BLOCK_MARK}mutant {mutant.name} [mutant]\n{mutant.source}"
