"""course_config.py: validated on import, one clear line for every mistake."""

from __future__ import annotations

import dataclasses
from datetime import date, time
from pathlib import Path

import pytest

from autograder.config import ConfigError, Course, GradeScale, ModuleSpec, SandboxLimits
from autograder.course_loader import load_course

from conftest import REPO


def _module(slug: str = "a", **kw) -> ModuleSpec:
    base = dict(slug=slug, title="A", release_week=1, due_offset_days=7,
                autograded_points=10, written_points=5, weight=1.0)
    base.update(kw)
    return ModuleSpec(**base)


def _course(**kw) -> Course:
    base = dict(name="c", term="t", term_start=date(2026, 10, 12), due_time=time(23, 59),
                timezone="Europe/Berlin", modules=(_module(),))
    base.update(kw)
    return Course(**base)


def test_the_real_config_loads_with_six_modules_in_order():
    course = load_course(REPO / "course_config.py")
    assert [m.slug for m in course.modules] == [
        "transformer", "nystrom_attention", "vae", "arithmetic_coder", "dp_sgd", "ppo"]
    assert course.report_weight == 0.40 and course.presentation_weight == 0.60
    assert course.root == REPO


def test_relative_sqlite_url_resolves_against_the_config_folder(tmp_path: Path):
    course = dataclasses.replace(_course(database_url="sqlite:///sub/g.db"), root=tmp_path)
    assert course.resolved_database_url() == f"sqlite:///{tmp_path / 'sub' / 'g.db'}"
    pg = _course(database_url="postgresql://u@h/db")
    assert pg.resolved_database_url() == "postgresql://u@h/db"


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(report_weight=0.5, presentation_weight=0.6), "must sum to 1"),
    (dict(modules=(_module("a", weight=0.5), _module("b", weight=0.4))), "module weights must sum to 1"),
    (dict(modules=(_module("a", weight=0.5), _module("a", weight=0.5))), "duplicate slug a"),
    (dict(timezone="Mars/Olympus"), "IANA"),
    (dict(term_start=date(2026, 10, 13)), "Monday"),
    (dict(modules=()), "at least one module"),
])
def test_invalid_course_fails_with_one_line(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        _course(**kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(autograded_points=-1), "autograded_points must not be negative"),
    (dict(written_points=-2), "written_points must not be negative"),
    (dict(slug="Bad Slug"), "lower_snake_case"),
])
def test_invalid_module_fails_with_one_line(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _module(**kwargs)


def test_limits_and_scales_are_checked():
    with pytest.raises(ConfigError, match="sandbox.memory_mb must be positive"):
        SandboxLimits(memory_mb=0)
    with pytest.raises(ConfigError, match="highest first"):
        GradeScale("x", ((0, "F"), (50, "P")))
    scale = GradeScale("x", ((50, "P"), (0, "F")))
    assert scale.grade(50) == "P" and scale.grade(49.9) == "F"


def test_schedule_dates_come_from_weeks_and_offsets():
    course = _course(modules=(_module("a", release_week=3, due_offset_days=10),))
    assert course.release_date("a") == date(2026, 10, 26)
    assert course.due_date("a") == date(2026, 11, 5)


def test_loader_reports_the_file_and_the_problem(tmp_path: Path):
    cfg = tmp_path / "course_config.py"
    cfg.write_text("from autograder.config import *\nCOURSE = Course(\n")
    with pytest.raises(ConfigError, match=r"course_config.py:\d+: syntax error"):
        load_course(cfg)
    cfg.write_text("X = 1\n")
    with pytest.raises(ConfigError, match="must define COURSE"):
        load_course(cfg)
    src = (REPO / "course_config.py").read_text().replace("weight=0.20),\n        ModuleSpec(slug=\"nystrom",
                                                          "weight=0.30),\n        ModuleSpec(slug=\"nystrom")
    cfg.write_text(src)
    with pytest.raises(ConfigError, match="module weights must sum to 1"):
        load_course(cfg)


def test_cli_prints_one_line_for_a_bad_config(tmp_path: Path, course_cli):
    cfg = tmp_path / "course_config.py"
    cfg.write_text((REPO / "course_config.py").read_text().replace('timezone="Europe/Berlin"',
                                                                  'timezone="Nowhere/Here"'))
    result = course_cli(cfg, "validate")
    assert result.exit_code == 2
    assert "timezone 'Nowhere/Here' is not an IANA zone" in result.output
    assert "Traceback" not in result.output


def test_a_module_without_folders_is_reported_by_commands_that_need_it(tmp_path: Path, course_cli):
    cfg = tmp_path / "course_config.py"
    cfg.write_text((REPO / "course_config.py").read_text())
    result = course_cli(cfg, "assign", "vae")
    assert result.exit_code == 2
    assert "solutions/vae/vae.ipynb: missing for module 'vae'" in result.output
