"""Scratch folders of killed gradings are found and removed; nothing else is touched."""

from __future__ import annotations

import os
import subprocess

import pytest

from autograder import scratch


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_folder_is_named_after_this_process_and_removed_on_exit(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with scratch.folder("batch") as path:
        assert path.name.startswith(f"fdl-batch-{os.getpid()}-")
        assert oct(path.stat().st_mode & 0o777) == "0o700", "student notebooks go in there"
    assert not path.exists()
    with pytest.raises(ValueError):
        scratch.make("../etc")


def test_sweep_removes_only_this_users_folders_of_processes_that_are_gone(tmp_path):
    dead = tmp_path / f"fdl-batch-{_dead_pid()}-x1"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "notebook.ipynb").write_text("{}")
    mine = tmp_path / f"fdl-grading-{os.getpid()}-x2"
    live = tmp_path / f"fdl-grade-{os.getppid()}-x3"
    other = tmp_path / "grade-12345-x4"  # not ours: no prefix
    for path in (mine, live, other):
        path.mkdir()
    (tmp_path / f"fdl-batch-{_dead_pid()}-file").write_text("a file, not a folder")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / f"fdl-batch-{_dead_pid()}-link").symlink_to(target)
    if os.geteuid() == 0:  # another user's folder of a dead process is theirs to remove
        theirs = tmp_path / f"fdl-batch-{_dead_pid()}-x5"
        theirs.mkdir()
        os.chown(theirs, 65534, 65534)
    assert scratch.sweep(tmp_path) == 1
    assert not dead.exists()
    assert mine.is_dir() and live.is_dir() and other.is_dir() and target.is_dir()
    if os.geteuid() == 0:
        assert theirs.is_dir()
    assert scratch.sweep(tmp_path / "missing") == 0
