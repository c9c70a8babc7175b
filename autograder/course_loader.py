"""Find and load `course_config.py`: import it from its path, check it, set its root."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

from autograder.config import ConfigError, Course

CONFIG_NAME = "course_config.py"


def find_config(start: Path | None = None) -> Path:
    """The nearest course_config.py in `start` (default: cwd) or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no {CONFIG_NAME} in {here} or its parents; run from the course "
                      f"repository or pass --config PATH")


def load_course(path: Path | None = None) -> Course:
    """Import a course_config.py by path and return its `COURSE`, rooted at its folder.

    Raises ConfigError (one line) for a missing file, a syntax error, a missing
    `COURSE` or any value the schema rejects.
    """
    config_path = Path(path).resolve() if path else find_config()
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: no such file; pass the path of course_config.py")
    spec = importlib.util.spec_from_file_location(f"_course_config_{abs(hash(config_path))}",
                                                  config_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    except SyntaxError as exc:
        raise ConfigError(f"{config_path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of user config is one line
        raise ConfigError(f"{config_path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(spec.name, None)
    course = getattr(module, "COURSE", None)
    if not isinstance(course, Course):
        raise ConfigError(f"{config_path}: must define COURSE = Course(...)")
    return dataclasses.replace(course, root=config_path.parent)
