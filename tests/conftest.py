"""Shared fixtures for the engine's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures"
ROSTER = ("id,name,email,lms_id\ns1,Ada Lovelace,ada@uni.de,101\ns2,Alan Turing,alan@uni.de,102\n"
          "s3,Grace Hopper,grace@uni.de,103\n")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_course(tmp_path: Path) -> Path:
    """A private copy of the one-module numpy course (safe to modify)."""
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "tinycourse", dest)
    return dest


def add_to_config(config: Path, name: str, value: str) -> None:
    """Give the tiny course's Course(...) one more field, e.g. ("slurm", "SlurmConfig(...)");
    `name`'s config class is imported from autograder.config."""
    cls = value.split("(", 1)[0]
    text = config.read_text().replace("from autograder.config import Course,",
                                      f"from autograder.config import {cls}, Course,")
    text = text.replace('    database_url="sqlite:///tiny.db",',
                        f'    database_url="sqlite:///tiny.db",\n    {name}={value},')
    config.write_text(text)


@pytest.fixture
def course_cli():
    """Run `course ...` in-process against a given config; returns the click Result."""
    runner = CliRunner()

    def run(config: Path, *args: str):
        return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)

    return run


@pytest.fixture
def book(tiny_course: Path):
    """(course, engine): the tiny course with a gradebook and a roster of s1, s2, s3."""
    from autograder.course_loader import load_course
    from gradebook.roster import import_roster
    from gradebook.store import open_gradebook

    course = load_course(tiny_course / "course_config.py")
    engine = open_gradebook(course)
    (tiny_course / "students.csv").write_text(ROSTER)
    import_roster(engine, tiny_course / "students.csv")
    return course, engine


@pytest.fixture
def web(book):
    """The web app on the tiny course's gradebook (`tests/web_support.Web`)."""
    from web_support import Web

    from app.web.settings import WebSettings

    course, engine = book
    return Web(course, engine, WebSettings(secret="test-secret-" + "x" * 40))


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A private dockerd with the worker image imported; DOCKER_HOST points at it."""
    import os

    from docker_engine import DockerEngine, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    engine = DockerEngine.start(tmp_path_factory.mktemp("docker"))
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine.env["DOCKER_HOST"]
    from autograder.sandbox.containers import docker_usable

    docker_usable.cache_clear()
    yield engine
    if old is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = old
    docker_usable.cache_clear()
    engine.stop()
