"""Shared fixtures for the engine's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autograder.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_course(tmp_path: Path) -> Path:
    """A private copy of the one-module numpy course (safe to modify)."""
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "tinycourse", dest)
    return dest


@pytest.fixture
def course_cli():
    """Run `course ...` in-process against a given config; returns the click Result."""
    runner = CliRunner()

    def run(config: Path, *args: str):
        return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)

    return run
