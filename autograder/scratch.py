"""Scratch folders named after the process that made them, so that a killed grader's are found.

A grader killed with SIGKILL (a TA's `kill -9`, the OOM killer, a lost cluster node) runs
no clean-up: its temporary folders stay in /tmp, and they hold student notebooks and the
reference solution's extracted code. Every folder made here is named
`fdl-<kind>-<pid>-<random>` (mode 0700, as `tempfile.mkdtemp` makes it); `sweep()` removes
those of this user whose process is gone. `course grade` sweeps before each batch.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from autograder.sandbox.launch import pid_alive

PREFIX = "fdl-"
_NAME = re.compile(rf"{PREFIX}([a-z]+)-(\d+)-")


def make(kind: str) -> Path:
    """A new private folder under the system's temporary directory, named after this process."""
    if not kind.isalpha():
        raise ValueError(f"scratch kind {kind!r}: letters only")
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))


@contextmanager
def folder(kind: str) -> Iterator[Path]:
    """`make(kind)`, removed on the way out (what `tempfile.TemporaryDirectory` does)."""
    path = make(kind)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(root: Path | None = None) -> int:
    """Remove this user's scratch folders whose process is gone; return how many."""
    root = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or int(match.group(2)) == os.getpid() or pid_alive(int(match.group(2))):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir() or \
                    entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += not os.path.exists(entry.path)
    return removed
