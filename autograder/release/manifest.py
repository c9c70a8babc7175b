"""`dist/manifest.json`: which bundle of which module was released when, by content hash,
so releasing twice is harmless and a changed bundle is never overwritten silently."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.core.errors import UserError

NAME = "manifest.json"
DIST_FOLDER = Path("dist")  # where `course release` writes, relative to the course root


@dataclass
class Entry:
    slug: str
    kind: str  # "assignment" or "solutions"
    file: str  # bundle file name inside dist/
    sha256: str
    released_at: str  # ISO instant of the first release of this revision
    revision: int = 1
    files: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    path: Path
    term: str
    entries: dict[str, Entry] = field(default_factory=dict)  # key: "<kind>:<slug>"

    @classmethod
    def load(cls, dist: Path, term: str) -> "Manifest":
        path = dist / NAME
        if not path.is_file():
            return cls(path, term)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = {key: Entry(**value) for key, value in raw["entries"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path}: unreadable release manifest ({exc}); restore it from a "
                            f"backup or move it away to start a new one") from None
        if raw.get("term") != term:
            raise UserError(f"{path}: records term {raw.get('term')!r}, the config says "
                            f"{term!r}; use a separate dist folder per term (--dist)")
        return cls(path, term, entries)

    def get(self, kind: str, slug: str) -> Entry | None:
        return self.entries.get(f"{kind}:{slug}")

    def record(self, entry: Entry) -> None:
        self.entries[f"{entry.kind}:{entry.slug}"] = entry
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"term": self.term,
               "entries": {k: asdict(v) for k, v in sorted(self.entries.items())}}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
