"""The attack arena: one module whose hidden suite calls each hostile submission's
`attack()` between two honest tests (tests/attacks/)."""

from datetime import date, time

from autograder.config import Course, GradeScale, ModuleSpec, SandboxLimits

COURSE = Course(
    name="Attack arena",
    term="attacks",
    term_start=date(2026, 10, 12),
    due_time=time(23, 59),
    timezone="Europe/Berlin",
    modules=(ModuleSpec(slug="arena", title="Hostile submissions", release_week=1,
                        due_offset_days=7, autograded_points=3, written_points=0, weight=1.0),),
    grade_scales=(GradeScale(name="pass", bands=((50, "pass"), (0, "fail"))),),
    sandbox=SandboxLimits(memory_mb=768, cpu_seconds=60, wall_seconds_per_call=4,
                          wall_seconds_per_submission=40, max_processes=32,
                          max_file_size_mb=16, max_output_bytes=200_000),
    database_url="sqlite:///arena.db",
)
