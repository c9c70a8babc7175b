"""The course's configuration: pure data, validated when this module is imported.

Edit values here; every command reads this file (found in the current folder or a
parent, or given with --config). Relative paths resolve against this file's folder.
"""

from datetime import date, time

from autograder.config import Course, GradeScale, LateCurve, ModuleSpec, SandboxLimits

COURSE = Course(
    name="Foundations of Deep Learning",
    term="ws2026",
    term_start=date(2026, 10, 12),  # Monday of week 1
    due_time=time(23, 59),
    timezone="Europe/Berlin",
    modules=(
        ModuleSpec(slug="transformer", title="A GPT from scratch", release_week=1,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.20),
        ModuleSpec(slug="nystrom_attention", title="Nystrom attention", release_week=3,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.15),
        ModuleSpec(slug="vae", title="Variational autoencoders", release_week=5,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.15),
        ModuleSpec(slug="arithmetic_coder", title="Arithmetic coding", release_week=7,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.15),
        ModuleSpec(slug="dp_sgd", title="Differentially private SGD", release_week=9,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.15),
        ModuleSpec(slug="ppo", title="Proximal policy optimisation", release_week=11,
                   due_offset_days=14, autograded_points=60, written_points=15, weight=0.20),
    ),
    report_weight=0.40,
    presentation_weight=0.60,
    bonus_cap=5.0,  # percentage points for good questions, at most
    late=LateCurve(per_day=0.10, floor=0.50, cutoff_days=7),
    grade_scales=(
        GradeScale(name="german", bands=(
            (95, "1.0"), (90, "1.3"), (85, "1.7"), (80, "2.0"), (75, "2.3"), (70, "2.7"),
            (65, "3.0"), (60, "3.3"), (55, "3.7"), (50, "4.0"), (0, "5.0"))),
        GradeScale(name="letter", bands=(
            (93, "A"), (90, "A-"), (87, "B+"), (83, "B"), (80, "B-"), (77, "C+"),
            (73, "C"), (70, "C-"), (60, "D"), (0, "F"))),
    ),
    sandbox=SandboxLimits(
        memory_mb=4096,
        cpu_seconds=600,
        wall_seconds_per_call=60,
        wall_seconds_per_submission=300,
        max_processes=64,
        max_file_size_mb=64,
        max_output_bytes=1_000_000,
        max_notebook_mb=20,
        gpu_memory_mb=8192,
    ),
    database_url="sqlite:///gradebook.db",
)
