"""Where a module's files live in the course repository (docs/architecture.md, "Layers and the folder tree")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.config import ConfigError, Course


@dataclass(frozen=True)
class ModuleLayout:
    """Paths of one module; nothing here touches the disk."""

    root: Path  # the course repository (folder of course_config.py)
    slug: str

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.slug

    @property
    def master(self) -> Path:
        """The master notebook with solutions."""
        return self.solution_dir / f"{self.slug}.ipynb"

    @property
    def hidden_suite(self) -> Path:
        return self.solution_dir / f"test_{self.slug}.py"

    @property
    def mutants_dir(self) -> Path:
        return self.solution_dir / "mutants"

    @property
    def public_src(self) -> Path:
        """Public tests as authored (copied into the assignment by `course assign`)."""
        return self.solution_dir / "public"

    @property
    def assignment_dir(self) -> Path:
        return self.root / "assignments" / self.slug

    @property
    def stub(self) -> Path:
        """The generated student notebook."""
        return self.assignment_dir / f"{self.slug}.ipynb"

    def public_tests(self) -> list[Path]:
        """The public test files of the generated assignment."""
        return sorted(self.assignment_dir.glob("test_*.py"))

    def require(self, *what: str) -> None:
        """ConfigError naming the first missing path among master/suite/stub/public."""
        for name in what:
            path: Path = getattr(self, name)
            if not path.exists():
                raise ConfigError(f"{path}: missing for module {self.slug!r} "
                                  f"({name.replace('_', ' ')}); {_HINTS.get(name, '')}".rstrip())


_HINTS = {
    "master": "write the master notebook first",
    "hidden_suite": "write the hidden pytest suite next to the master",
    "stub": "run `course assign SLUG` to generate it",
    "assignment_dir": "run `course assign SLUG` to generate it",
}


def module_layout(course: Course, slug: str) -> ModuleLayout:
    """The layout of a module listed in the config (ConfigError for unknown slugs)."""
    course.module(slug)
    return ModuleLayout(root=course.root, slug=slug)
