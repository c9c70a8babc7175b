"""The repository's docs are its own: no tracked file cites a plan that lives outside the
repository, and every relative link in the Markdown docs points at a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import REPO

# built from pieces, so this file does not match itself
OUTSIDE = ("DESIGN" + ".md", "MODULES" + ".md", "WEB" + ".md", ".." + "/shared")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                         check=True).stdout.decode()
    return [REPO / name for name in out.split("\0") if name]


def test_no_tracked_file_cites_a_file_outside_the_repository():
    found = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            found += [f"{path.relative_to(REPO)}:{number}: {needle}"
                      for needle in OUTSIDE if needle in line]
    assert not found, ("cite the repository's docs (docs/architecture.md, docs/modules.md) "
                       "instead:\n" + "\n".join(found))


def test_relative_links_in_the_docs_resolve():
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for doc in docs:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_the_architecture_and_module_docs_exist():
    for name in ("architecture.md", "modules.md"):
        assert (REPO / "docs" / name).is_file(), f"docs/{name} is missing"
