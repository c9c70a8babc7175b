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
from autograder.core.extract import BLOCK_MARK


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
    fails = _constant(tree, "FAILS")
    if not (isinstance(fails, list) and fails and all(isinstance(f, str) for f in fails)):
        raise ConfigError(f"{path}: needs FAILS = ['test_name', ...] naming the tests it must fail")
    patches = _constant(tree, "PATCH", default=())  # () when the file has no PATCH
    if patches != () and not (isinstance(patches, list) and patches and all(
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
            and pair[0] and pair[0] != pair[1] for pair in patches)):
        raise ConfigError(f"{path}: PATCH must be a list of (old text, new text) pairs of "
                          f"strings, each old text non-empty and changed")
    return Mutant(path.stem, description.splitlines()[0], tuple(fails), text, path,
                  tuple(patches))


def _constant(tree: ast.Module, name: str, default: object = None) -> object:
    """The literal value assigned to `name` at the module's top level (None if not a
    literal; `default` if never assigned)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return default


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
