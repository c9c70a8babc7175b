"""Execute a rendered submission file block by block into a fresh module.

A block that raises does not stop the others: its error is recorded against its cell,
and the names it would have defined are simply missing, so only the tests that need
them fail. Line numbers in tracebacks are the file's own, and `cell_location` maps them
back to "cell 'x', line n" for feedback.

Standard library only: the sandboxed worker receives this file's source and runs it.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BLOCK_MARK = "# %% "  # a block starts with this line: "# %% cell 'id' [origin]"


@dataclass
class Block:
    label: str
    start: int  # first line of the block's code in the file (1-based)
    source: str


@dataclass
class LoadedModule:
    """A module built from blocks, with the errors its blocks raised."""

    module: types.ModuleType
    path: Path
    blocks: list[Block]
    errors: dict[str, str] = field(default_factory=dict)  # label -> "NameError: ... (line n)"

    def cell_location(self, file_line: int) -> str | None:
        """'cell 'x', line n' for a line of the file, or None outside every block."""
        for block in reversed(self.blocks):
            if file_line >= block.start:
                return f"{block.label}, line {file_line - block.start + 1}"
        return None

    def locate(self, filename: str, line: int) -> str | None:
        """'cell 'x', line n' for a line of file `filename`, or None outside this
        module's file or every block (a `core.failures.Locate`)."""
        return self.cell_location(line) if Path(filename) == self.path else None


def split_blocks(text: str) -> list[Block]:
    """Blocks of a percent-format file; a file without markers is one block."""
    lines = text.split("\n")
    blocks: list[Block] = []
    current: Block | None = None
    body: list[str] = []
    for i, line in enumerate(lines, start=1):
        if line.startswith(BLOCK_MARK):
            if current is not None:
                current.source = "\n".join(body)
                blocks.append(current)
            label = line[len(BLOCK_MARK):].rsplit(" [", 1)[0].strip()
            current, body = Block(label, i + 1, ""), []
        elif current is None:
            current, body = Block("module", 1, ""), [line]
        else:
            body.append(line)
    if current is not None:
        current.source = "\n".join(body)
        blocks.append(current)
    return blocks


def load_blocks(path: Path, module_name: str, skip: dict[str, str] | None = None,
                on_block: Callable[[str], None] | None = None) -> LoadedModule:
    """Execute each block of `path` in one new module registered as `module_name`.

    Blocks named in `skip` are not run (their value is the recorded reason: e.g. it
    killed the worker last time); `on_block(label)` is called before each block runs.
    """
    path = Path(path).resolve()
    text = path.read_text(encoding="utf-8")
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    loaded = LoadedModule(module, path, split_blocks(text))
    for block in loaded.blocks:
        if not block.source.strip():
            continue
        if skip and block.label in skip:
            loaded.errors[block.label] = skip[block.label]
            continue
        if on_block is not None:
            on_block(block.label)
        padded = "\n" * (block.start - 1) + block.source
        try:
            code = compile(padded, str(path), "exec")
            exec(code, module.__dict__)  # noqa: S102 - this is the point: run the submission
        except BaseException as exc:  # noqa: BLE001 - any student failure is recorded, even
            # KeyboardInterrupt or GeneratorExit raised by the cell itself
            where = _line_in(exc, path)
            loc = f" (line {where - block.start + 1})" if where else ""
            loaded.errors[block.label] = f"{type(exc).__name__}: {_text(exc)}{loc}"
    return loaded


def _text(exc: BaseException) -> str:
    """The exception's message, whatever its `__str__` does."""
    try:
        return str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        return "<unprintable>"


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The last line of `path` in the exception's traceback."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
