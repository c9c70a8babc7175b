"""Running a module on Gradescope: `course gradescope SLUG` writes an autograder zip, and
`python -m autograder.gradescope` is what its `run_autograder` calls.

The zip holds `setup.sh` (Gradescope's image: a venv with the pinned requirements),
`run_autograder`, the engine's own source (`engine/autograder/`), the hidden suite, the
master notebook and the grading request. It is for staff only (Gradescope keeps autograder zips
private): it contains the reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import autograder
from autograder.config import Course
from autograder.core.errors import GraderError, UserError
from autograder.layout import module_layout
from autograder.request import build_request, read_request
from autograder.release.bundle import zip_bytes
from autograder.release.pins import distributions_for, imported_modules, module_sources, \
    requirements_text

ENGINE_NEEDS = {"pytest"}  # the engine's imports on the grading side

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this per submission; the result goes to /autograder/results/results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export PYTHONPATH="$ROOT/source/engine"
exec "${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}" -m autograder.gradescope \\
    --source "$ROOT/source" --submission "$ROOT/submission" \\
    --results "$ROOT/results/results.json"
"""


def autograder_files(course: Course, slug: str) -> dict[str, bytes]:
    layout = module_layout(course, slug)
    layout.require("master", "hidden_suite")
    package = Path(autograder.__file__).parent
    files = {f"engine/autograder/{p.relative_to(package).as_posix()}": p.read_bytes()
             for p in sorted(package.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".mako")}
    sources = module_sources([layout.master, layout.hidden_suite])
    dists = distributions_for(imported_modules(sources) | ENGINE_NEEDS, f"solutions/{slug}")
    files["requirements.txt"] = requirements_text(
        dists, f"{course.name}, {slug} ({course.term}) on Gradescope").encode()
    files[layout.hidden_suite.name] = layout.hidden_suite.read_bytes()
    files[layout.master.name] = layout.master.read_bytes()
    # the grading request, its paths relative to the source folder (`run` roots them)
    request = build_request(course, slug, Path(f"{slug}.ipynb"), backend="local")
    files["request.json"] = json.dumps(dataclasses.replace(
        request, suite=(Path(layout.hidden_suite.name),), master=Path(layout.master.name)
    ).to_json(), indent=1).encode()
    files["module.json"] = json.dumps({"slug": slug, "title": course.module(slug).title}).encode()
    files["setup.sh"] = SETUP.encode()
    files["run_autograder"] = RUN.encode()
    return files


def write_autograder_zip(course: Course, slug: str, out: Path) -> Path:
    """setup.sh and run_autograder at the zip's top level, as Gradescope wants."""
    data = zip_bytes("", autograder_files(course, slug),
                     executable=frozenset({"setup.sh", "run_autograder"}))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def _notebook_in(folder: Path, slug: str) -> Path:
    named = folder / f"{slug}.ipynb"
    if named.is_file():
        return named
    found = sorted(folder.rglob("*.ipynb"))
    if len(found) != 1:
        raise UserError(f"submit exactly one notebook, ideally named {slug}.ipynb "
                        f"(found {len(found)})")
    return found[0]


def run(source: Path, submission: Path, results: Path) -> int:
    """Grade the Gradescope submission folder; always leaves a results.json."""
    from autograder.engine import run_suite

    module = json.loads((source / "module.json").read_text())
    slug = module["slug"]
    results.parent.mkdir(parents=True, exist_ok=True)
    status = 0
    try:
        notebook = _notebook_in(submission, slug)
        template = read_request(source / "request.json")
        request = dataclasses.replace(template, submission=notebook,
                                      suite=tuple(source / p for p in template.suite),
                                      master=source / template.master)
        doc = run_suite(request).results
    except UserError as exc:
        doc = {"score": 0, "output": f"Your submission could not be graded: {exc}", "tests": []}
    except GraderError as exc:
        doc = {"score": 0, "tests": [],
               "output": f"The autograder failed (not your fault; staff are notified): "
                         f"{str(exc).splitlines()[0][:300]}"}
        status = 1
    results.write_text(json.dumps(doc, indent=1))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gradescope's run_autograder entry point")
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args(argv)
    return run(args.source, args.submission, args.results)


if __name__ == "__main__":
    sys.exit(main())
