"""Building and releasing the zip students receive, and the reference after the cut-off.

A bundle (`dist/<slug>-<term>.zip`, one folder `<slug>/` inside) holds the stub notebook,
the public tests and any data files of `assignments/<slug>/`, a `requirements.txt`
pinning what they need, the offline checker, and a README. It is built in memory with
fixed timestamps (the same inputs give the same bytes), scanned for leaks, and only then
written.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autograder.assign import assign
from autograder.config import Course
from autograder.core.errors import UserError
from autograder.layout import module_layout
from autograder.release.checker import checker_files
from autograder.release.leaks import scan, secrets_of
from autograder.release.manifest import Entry, Manifest
from autograder.release.pins import distributions_for, imported_modules, module_sources, \
    requirements_text

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
SKIP = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")


@dataclass
class Released:
    slug: str
    path: Path
    status: str  # "released", "unchanged" or "updated"
    entry: Entry


def bundle_files(course: Course, slug: str) -> dict[str, bytes]:
    """{path inside `<slug>/`: content} of the module's student bundle."""
    layout = module_layout(course, slug)
    layout.require("master", "stub")
    stale = assign(layout, title=course.module(slug).title, check=True).stale
    if stale:
        raise UserError(f"{stale[0]}: out of date with solutions/{slug}/; run "
                        f"`course assign {slug}` and commit the result before releasing")
    files: dict[str, bytes] = {}
    for path in sorted(layout.assignment_dir.rglob("*")):
        rel = path.relative_to(layout.assignment_dir)
        if path.is_file() and not any(part in SKIP for part in rel.parts):
            files[rel.as_posix()] = path.read_bytes()
    sources = module_sources([layout.stub, *layout.public_tests()])
    dists = distributions_for(imported_modules(sources), f"assignments/{slug}")
    files["requirements.txt"] = requirements_text(
        dists, f"{course.name}, {slug} ({course.term}): the versions the course was "
               f"validated with.\nInstall: python -m pip install -r requirements.txt").encode()
    files.update(checker_files(slug, layout.stub.read_bytes()))
    files["README.md"] = _readme(course, slug).encode()
    return files


def zip_bytes(root: str, files: dict[str, bytes], executable: frozenset[str] = frozenset()
              ) -> bytes:
    """A deterministic zip: sorted members under `root/` (or at the top when root is
    empty), fixed times and permissions (0755 for the `executable` names)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{name}" if root else name, ZIP_TIME)
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, bytes]:
    """Members of a bundle, without their top folder."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename.split("/", 1)[1]: zf.read(info)
                for info in zf.infolist() if not info.is_dir()}


def release(course: Course, slug: str, dist: Path, now: datetime, update: bool = False
            ) -> Released:
    """Build, scan and write `dist/<slug>-<term>.zip`, recorded in the manifest."""
    layout = module_layout(course, slug)
    data = zip_bytes(slug, bundle_files(course, slug))
    leaks = scan(read_zip(data), secrets_of(layout))
    if leaks:
        raise UserError(f"release of {slug} refused, {len(leaks)} leak(s): {leaks[0]}; "
                        f"fix the master's solution markers and run `course assign {slug}`")
    return _write(dist, course.term, "assignment", slug, f"{slug}-{course.term}.zip", data,
                  now, update)


def release_solutions(course: Course, slug: str, dist: Path, now: datetime,
                      update: bool = False) -> Released:
    """The reference notebook, only after the module's cut-off (late work may still come)."""
    layout = module_layout(course, slug)
    layout.require("master")
    cutoff = course.cutoff_at(slug)
    if now <= cutoff:
        raise UserError(f"solutions of {slug} refused: late submissions count until "
                        f"{cutoff:%Y-%m-%d %H:%M %Z} (due date + {course.late.cutoff_days} "
                        f"days); release them after that")
    data = zip_bytes(f"{slug}-solution", {layout.master.name: layout.master.read_bytes()})
    return _write(dist, course.term, "solutions", slug, f"{slug}-{course.term}-solution.zip",
                  data, now, update)


def _write(dist: Path, term: str, kind: str, slug: str, name: str, data: bytes,
           now: datetime, update: bool) -> Released:
    manifest = Manifest.load(dist, term)
    digest = hashlib.sha256(data).hexdigest()
    path = dist / name
    old = manifest.get(kind, slug)
    if old is not None and old.sha256 == digest:
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            _atomic_write(path, data)  # restore a deleted or damaged copy, same content
        return Released(slug, path, "unchanged", old)
    if old is not None and not update:
        raise UserError(f"{path}: revision {old.revision} was released on "
                        f"{old.released_at[:10]} and its content has changed since; students "
                        f"already have it: pass --update to release revision {old.revision + 1}")
    entry = Entry(slug=slug, kind=kind, file=name, sha256=digest,
                  released_at=now.isoformat(timespec="seconds"),
                  revision=old.revision + 1 if old else 1, files=sorted(read_zip(data)))
    _atomic_write(path, data)
    manifest.record(entry)
    return Released(slug, path, "updated" if old else "released", entry)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _readme(course: Course, slug: str) -> str:
    spec = course.module(slug)
    due = course.due_at(slug)
    return f"""# {course.name}: {spec.title}

Due {due:%A %Y-%m-%d at %H:%M} ({course.timezone}).

1. Create an environment with the packages the course was validated with:

       python -m venv .venv && . .venv/bin/activate
       python -m pip install -r requirements.txt

2. Work in `{slug}.ipynb` (open it with Jupyter or VS Code).
3. Check your work against the public tests, from the shell or a notebook cell:

       python check.py              # or, in the notebook: %run check.py

   It reads your notebook exactly as the grader does: only imports, functions, classes
   and constants in your cells count. Passing the public tests does not mean full
   marks; the hidden tests check much more.
4. Submit `{slug}.ipynb` as your course page says.
"""
