"""Planting a mutant's bug in a master notebook, where a student would make it."""

from __future__ import annotations

import ast
import copy
import dataclasses

from autograder.config import ConfigError
from autograder.core.notebook_io import NotebookNode, nbgrader_meta
from autograder.mutants import Mutant, apply_patches


def plant_bug(master: NotebookNode, mutant: Mutant) -> NotebookNode:
    """A copy of the master with the mutant's bug where a student would make it: each of
    its PATCH edits made inside the answer cell that holds the old text, each of its
    definitions replacing the same-named one inside the answer cell that holds it."""
    nb = copy.deepcopy(master)
    for old, new in mutant.patches:
        cells = [c for c in nb.cells if c.cell_type == "code"
                 and nbgrader_meta(c).get("solution") and old in c.source]
        if len(cells) != 1:
            raise ConfigError(f"{mutant.path}: PATCH text {old.strip()[:60]!r} is in "
                              f"{len(cells)} answer cells of the master; it must be in one")
        cells[0].source = apply_patches(cells[0].source, dataclasses.replace(
            mutant, patches=((old, new),)), "its answer cell")
    if mutant.patches:
        return nb
    mutant_source = mutant.source
    tree = ast.parse(mutant_source)
    lines = mutant_source.split("\n")
    imports = [ast.get_source_segment(mutant_source, n) for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        replacement = "\n".join(lines[node.lineno - 1 - len(node.decorator_list):node.end_lineno])
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            found = [n for n in ast.parse(cell.source).body
                     if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == node.name]
            if found:
                src = cell.source.split("\n")
                old = found[0]
                first = min([old.lineno] + [d.lineno for d in old.decorator_list])
                src[first - 1:old.end_lineno] = replacement.split("\n")
                cell.source = "\n".join(imports + src) if imports else "\n".join(src)
                break
    return nb
