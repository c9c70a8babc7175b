"""What must never reach students, and the scan that refuses a bundle containing it.

Secrets of a module: the text of its solution regions (lines of code between
`### BEGIN SOLUTION` / `### END SOLUTION` and model answers of written cells), its hidden
suite (the file and its test names), its mutants, and the master notebook itself. A line
counts as secret only if it is long enough to be specific and does not also appear (even
as part of a line) in the master outside the solution regions or in the public tests
(those are public on purpose); it is found anywhere in a file, whitespace normalised.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from autograder.layout import ModuleLayout
from autograder.mutants import load_mutants
from autograder.core.notebook_io import nbgrader_meta, read_notebook

MIN_LINE = 16  # shorter lines (`return x`, `pass`) are too common to be evidence
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "BEGIN MARK SCHEME", "FAILS = [")


@dataclass
class Secrets:
    solution_lines: dict[str, str] = field(default_factory=dict)  # normalised line -> cell
    hidden_names: set[str] = field(default_factory=set)  # hidden test function names
    forbidden_files: set[str] = field(default_factory=set)  # file names (suite, mutants)
    forbidden_digests: set[str] = field(default_factory=set)  # sha256 of master and suite


@dataclass(frozen=True)
class Leak:
    file: str  # path inside the bundle
    what: str  # what leaked, for the one-line error

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


def normalise(line: str) -> str:
    return " ".join(line.split())


def secrets_of(layout: ModuleLayout) -> Secrets:
    """Everything of `layout`'s module that a student bundle must not contain."""
    secrets = Secrets()
    master = read_notebook(layout.master)
    secret: dict[str, str] = {}
    public: set[str] = set()
    for index, cell in enumerate(master.cells):
        meta = nbgrader_meta(cell)
        label = meta.get("grade_id") or f"cell {index}"
        if meta.get("solution") and cell.cell_type == "markdown":
            secret.update((normalise(line), label) for line in cell.source.splitlines())
            continue
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside:
                secret.setdefault(normalise(line), label)
            else:
                public.add(normalise(line))
    for test in sorted(layout.public_src.glob("*.py")) if layout.public_src.is_dir() else []:
        public.update(normalise(line) for line in test.read_text(encoding="utf-8").splitlines())
    public_text = " ".join(public)
    secrets.solution_lines = {line: label for line, label in secret.items()
                              if len(line) >= MIN_LINE and line not in public_text}
    suite = layout.hidden_suite.read_text(encoding="utf-8") if layout.hidden_suite.is_file() else ""
    public_tests = "\n".join(p.read_text(encoding="utf-8") for p in layout.public_tests())
    secrets.hidden_names = {name for name in re.findall(r"^def (test_\w+)", suite, re.MULTILINE)
                            if name not in public_tests}
    secrets.forbidden_files = {layout.hidden_suite.name}
    secrets.forbidden_files.update(f"{m.name}.py" for m in load_mutants(layout.mutants_dir))
    for path in (layout.master, layout.hidden_suite):
        if path.is_file():
            secrets.forbidden_digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    return secrets


def scan(files: dict[str, bytes], secrets: Secrets) -> list[Leak]:
    """Every leak in {bundle path: content}; empty when the bundle is clean."""
    leaks: list[Leak] = []
    for name, content in sorted(files.items()):
        base = name.rsplit("/", 1)[-1]
        if base in secrets.forbidden_files:
            leaks.append(Leak(name, f"is a hidden file ({base})"))
        if hashlib.sha256(content).hexdigest() in secrets.forbidden_digests:
            leaks.append(Leak(name, "is a copy of the master notebook or the hidden suite"))
        text = _readable(name, content)
        if name.startswith("_fdl_check/") and name.endswith(".py"):
            continue  # the grader's own (public) reading code: it names the markers
        for marker in MARKERS:
            if marker in text:
                leaks.append(Leak(name, f"contains the marker {marker!r}"))
        flat = normalise(text)
        for line in sorted(line for line in secrets.solution_lines if line in flat):
            leaks.append(Leak(name, f"contains solution text of cell "
                                    f"'{secrets.solution_lines[line]}': {line[:60]!r}"))
        for hidden in sorted(secrets.hidden_names):
            if re.search(rf"\b{hidden}\b", text):
                leaks.append(Leak(name, f"names the hidden test {hidden}"))
    return leaks


def _readable(name: str, content: bytes) -> str:
    """The text to search: a notebook's cell sources and outputs as plain lines (JSON
    escapes undone), any other file as decoded bytes."""
    text = content.decode("utf-8", errors="ignore")
    if name.endswith(".ipynb"):
        try:
            nb = json.loads(text)
        except ValueError:
            return text
        parts = [text]
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            parts.append(_joined(cell.get("source", "")))
            for output in cell.get("outputs", []) or []:
                parts.append(_joined(output.get("text", "")))
                parts.extend(_joined(v) for v in (output.get("data") or {}).values())
        return "\n".join(parts)
    return text


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""
