"""The course configuration schema: typed dataclasses, validated when they are built.

`course_config.py` at the repository root instantiates these classes with plain data
(no code runs there beyond the constructors). Every check raises `ConfigError` with one
line naming the field and the fix; the CLI prints that line and exits non-zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autograder.core.errors import UserError
from autograder.core.notebook_io import MAX_NOTEBOOK_MB

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(UserError, ValueError):
    """An invalid value in course_config.py (the message is one line)."""


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


@dataclass(frozen=True)
class ModuleSpec:
    """One programming module of the course."""

    slug: str  # folder name under solutions/ and assignments/, e.g. "transformer"
    title: str  # human title shown in schedules and feedback
    release_week: int  # week of term (1-based) in which the module is released
    due_offset_days: int  # days from release to the due date
    autograded_points: float  # sum of the hidden suite's `points` markers
    written_points: float  # sum of the master's manually graded answer cells
    weight: float  # weight of this module in the report score (weights sum to 1)
    gpu: bool = False  # student code on a GPU where the grader has one (Slurm: --gres); else CPU

    def __post_init__(self) -> None:
        _require(bool(SLUG_RE.match(self.slug)),
                 f"module slug {self.slug!r} must be lower_snake_case (letters, digits, _)")
        _require(self.release_week >= 1, f"module {self.slug}: release_week must be >= 1")
        _require(self.due_offset_days >= 0, f"module {self.slug}: due_offset_days must be >= 0")
        _require(self.autograded_points >= 0,
                 f"module {self.slug}: autograded_points must not be negative")
        _require(self.written_points >= 0,
                 f"module {self.slug}: written_points must not be negative")
        _require(self.weight >= 0, f"module {self.slug}: weight must not be negative")

    @property
    def grading_device(self) -> str:
        """Where graded student code runs: `auto` (CUDA where the worker sees a GPU) for a
        gpu module, else `cpu` (no CUDA start-up per worker)."""
        return "auto" if self.gpu else "cpu"


@dataclass(frozen=True)
class LateCurve:
    """Late factor = max(floor, 1 - per_day * ceil(days late)); 0 after cutoff_days."""

    per_day: float = 0.10  # reduction per started day late
    floor: float = 0.50  # the factor never drops below this before the cut-off
    cutoff_days: int = 7  # submissions later than this many days after the due time score 0

    def __post_init__(self) -> None:
        _require(0 <= self.per_day <= 1, "late.per_day must be between 0 and 1")
        _require(0 <= self.floor <= 1, "late.floor must be between 0 and 1")
        _require(self.cutoff_days >= 0, "late.cutoff_days must be >= 0")


@dataclass(frozen=True)
class GradeScale:
    """Maps a final percentage to a grade: the first band whose minimum is reached."""

    name: str  # e.g. "letter" or "german"
    bands: tuple[tuple[float, str], ...]  # (minimum percent, grade), highest minimum first

    def __post_init__(self) -> None:
        _require(len(self.bands) > 0, f"grade scale {self.name}: needs at least one band")
        minima = [b[0] for b in self.bands]
        _require(minima == sorted(minima, reverse=True),
                 f"grade scale {self.name}: bands must be sorted by minimum, highest first")
        _require(minima[-1] <= 0, f"grade scale {self.name}: the last band must start at 0")

    def grade(self, percent: float) -> str:
        """The grade for a final percentage."""
        for minimum, label in self.bands:
            if percent >= minimum:
                return label
        return self.bands[-1][1]


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for running student code."""

    memory_mb: int = 4096  # address space / cgroup memory of the worker
    cpu_seconds: int = 600  # CPU time of the worker per submission
    wall_seconds_per_call: float = 60.0  # default per-test limit (the time_limit marker overrides)
    wall_seconds_per_submission: float = 300.0  # the whole hidden suite for one notebook
    max_processes: int = 64  # processes/threads the worker may hold
    max_file_size_mb: int = 64  # largest file the worker may write
    max_output_bytes: int = 1_000_000  # captured stdout+stderr kept per submission
    max_notebook_mb: float = MAX_NOTEBOOK_MB  # larger submitted notebooks are rejected unread
    # PyTorch's CUDA allocator cap in a GPU worker: contains runaway allocation so the
    # other gradings sharing the GPU keep theirs (not a wall against deliberate attacks)
    gpu_memory_mb: int = 8192
    # loading the notebook into the worker: one deadline for all attempts, and one per
    # cell (a cell that hangs is left out); capped by wall_seconds_per_submission
    load_seconds: float = 60.0
    load_seconds_per_cell: float = 20.0
    # what one reply of the worker may hold: bytes of its frame, values in it
    max_reply_mb: float = 256.0
    max_reply_items: int = 1_000_000
    # the trusted grading process (pytest with the hidden suite): address space and CPU
    # seconds, so that whatever a submission makes it do fails that submission only
    trusted_memory_mb: int = 16384
    trusted_cpu_seconds: int = 900

    def __post_init__(self) -> None:
        for name in ("memory_mb", "cpu_seconds", "wall_seconds_per_call",
                     "wall_seconds_per_submission", "max_processes", "max_file_size_mb",
                     "max_output_bytes", "max_notebook_mb", "gpu_memory_mb", "load_seconds",
                     "load_seconds_per_cell", "max_reply_mb", "max_reply_items",
                     "trusted_memory_mb", "trusted_cpu_seconds"):
            _require(getattr(self, name) > 0, f"sandbox.{name} must be positive")
        _require(self.wall_seconds_per_call <= self.wall_seconds_per_submission,
                 "sandbox.wall_seconds_per_call must not exceed wall_seconds_per_submission")


BACKENDS = ("auto", "local", "docker", "apptainer")


@dataclass(frozen=True)
class ContainerConfig:
    """The worker container of the docker and apptainer backends (docker/Dockerfile)."""

    backend: str = "auto"  # auto: docker with a GPU where both exist, else local
    image: str = "fdl-course-worker:latest"  # docker image (`course image build`)
    sif: str = "images/fdl-course-worker.sif"  # Apptainer image, relative to the config
    gpus: str = "all"  # "all", device ids "0,1", or "" for none
    cpus: float = 2.0  # CPU share of one container

    def __post_init__(self) -> None:
        _require(self.backend in BACKENDS,
                 f"container.backend {self.backend!r} must be one of {', '.join(BACKENDS)}")
        _require(self.cpus > 0, "container.cpus must be positive")
        _require(re.fullmatch(r"|all|\d+(,\d+)*", self.gpus) is not None,
                 f"container.gpus {self.gpus!r} must be 'all', device ids like '0,1', or ''")


@dataclass(frozen=True)
class SlurmConfig:
    """How `course grade --executor slurm` submits its job array."""

    partition: str = ""  # empty: the cluster's default partition
    account: str = ""  # empty: the user's default account
    workdir: str = ".grading/slurm"  # job folders; must be on a file system the nodes share
    max_parallel: int = 32  # array tasks running at once (`--array=0-N%max_parallel`)
    cpus_per_task: int = 2
    gpu_gres: str = "gpu:1"  # `--gres` for modules with `gpu=True`
    extra_args: tuple[str, ...] = ()  # more sbatch options, e.g. ("--qos=teaching",)
    poll_seconds: float = 5.0  # how often squeue and the result files are checked

    def __post_init__(self) -> None:
        _require(self.max_parallel >= 1, "slurm.max_parallel must be at least 1")
        _require(self.cpus_per_task >= 1, "slurm.cpus_per_task must be at least 1")
        _require(self.poll_seconds > 0, "slurm.poll_seconds must be positive")
        for arg in self.extra_args:
            _require(arg.startswith("--"), f"slurm.extra_args: {arg!r} must be a long option "
                                           f"such as '--qos=teaching'")


ATTEMPT_RULES = ("last_before_cutoff", "student_choice")


@dataclass(frozen=True)
class PortalConfig:
    """The student portal (`course serve`): how often students may have work graded,
    which attempt counts, and what grading of uploads may fall back to."""

    gradings_per_hour: int = 6  # per student; fast hidden-test points invite probing
    pending_beyond_limit: int = 3  # uploads stored over the limit, graded when it allows
    max_upload_mb: float = 20.0  # request body cap (also after decompression)
    attempt: str = "last_before_cutoff"  # or "student_choice": the student picks one
    allow_unsandboxed: bool = False  # grade uploads without bubblewrap when it is missing
    worker_lease_seconds: float = 120.0  # a grading job's lease, renewed while it runs

    def __post_init__(self) -> None:
        _require(self.gradings_per_hour >= 1, "portal.gradings_per_hour must be at least 1")
        _require(self.pending_beyond_limit >= 0, "portal.pending_beyond_limit must be >= 0")
        _require(0 < self.max_upload_mb <= 512, "portal.max_upload_mb must be in (0, 512]")
        _require(self.attempt in ATTEMPT_RULES,
                 f"portal.attempt {self.attempt!r} must be one of {', '.join(ATTEMPT_RULES)}")
        _require(self.worker_lease_seconds >= 10, "portal.worker_lease_seconds must be >= 10")


@dataclass(frozen=True)
class Course:
    """The whole course: schedule, modules, grading scheme, limits and storage."""

    name: str  # e.g. "Foundations of Deep Learning"
    term: str  # short term id used in bundle names, e.g. "ws2026"
    term_start: date  # Monday of week 1
    due_time: time  # local time of day at which modules are due
    timezone: str  # IANA zone of the course, e.g. "Europe/Berlin"
    modules: tuple[ModuleSpec, ...]  # in teaching order
    report_weight: float = 0.40  # share of the report score in the final grade
    presentation_weight: float = 0.60  # share of the presentation score
    bonus_cap: float = 5.0  # percentage points of bonus at most
    late: LateCurve = field(default_factory=LateCurve)
    grade_scales: tuple[GradeScale, ...] = ()  # the first one is the default
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    database_url: str = "sqlite:///gradebook.db"  # relative sqlite paths: against root
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    container: ContainerConfig = field(default_factory=ContainerConfig)
    portal: PortalConfig = field(default_factory=PortalConfig)
    root: Path = Path(".")  # folder of course_config.py (set by the loader)

    def __post_init__(self) -> None:
        _require(len(self.modules) > 0, "modules: the course needs at least one module")
        slugs = [m.slug for m in self.modules]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        _require(not dupes, f"modules: duplicate slug {', '.join(dupes)}; slugs must be unique")
        _require(math.isclose(self.report_weight + self.presentation_weight, 1.0, abs_tol=1e-9),
                 f"report_weight + presentation_weight must sum to 1 "
                 f"(got {self.report_weight + self.presentation_weight:g})")
        for name in ("report_weight", "presentation_weight", "bonus_cap"):
            _require(getattr(self, name) >= 0, f"{name} must not be negative")
        total = sum(m.weight for m in self.modules)
        _require(math.isclose(total, 1.0, abs_tol=1e-9),
                 f"module weights must sum to 1 (got {total:g}); adjust ModuleSpec.weight")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone {self.timezone!r} is not an IANA zone "
                              f"such as 'Europe/Berlin'") from None
        _require(self.term_start.weekday() == 0,
                 f"term_start {self.term_start} should be a Monday (week 1 starts there)")
        _require(bool(SLUG_RE.match(self.term)), f"term {self.term!r} must be lower_snake_case")
        names = [s.name for s in self.grade_scales]
        _require(len(names) == len(set(names)), "grade_scales: duplicate scale name")

    # --- lookups -------------------------------------------------------------
    def module(self, slug: str) -> ModuleSpec:
        """The module with this slug; ConfigError naming the known slugs otherwise."""
        for m in self.modules:
            if m.slug == slug:
                return m
        raise ConfigError(f"unknown module {slug!r}; course_config.py lists: "
                          f"{', '.join(m.slug for m in self.modules)}")

    def release_date(self, slug: str) -> date:
        """Monday of the module's release week."""
        return self.term_start + timedelta(weeks=self.module(slug).release_week - 1)

    def due_date(self, slug: str) -> date:
        """Calendar date on which the module is due (at `due_time`)."""
        return self.release_date(slug) + timedelta(days=self.module(slug).due_offset_days)

    def release_at(self, slug: str) -> datetime:
        """The instant the module opens: its release date at midnight, course zone."""
        return datetime.combine(self.release_date(slug), time(0, 0), tzinfo=self.tz)

    def due_at(self, slug: str) -> datetime:
        """The module's due instant: its due date at `due_time`, course zone."""
        return datetime.combine(self.due_date(slug), self.due_time, tzinfo=self.tz)

    def cutoff_at(self, slug: str) -> datetime:
        """After this instant no late submission counts (due + late.cutoff_days)."""
        return self.due_at(slug) + timedelta(days=self.late.cutoff_days)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against `root`."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url[len(prefix):]
            if path and path != ":memory:" and not Path(path).is_absolute():
                return prefix + str((self.root / path).resolve())
        return self.database_url

    def resolve(self, relative: str | Path) -> Path:
        """A path from the config, resolved against the config's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.root / p).resolve()
