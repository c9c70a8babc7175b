"""The student portal: grading jobs and workers, publications, chosen attempts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create grading_jobs, grading_workers, publications, attempt_choices."""
    op.create_table(
        "grading_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("not_before", _WHEN, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=False),
        sa.Column("lease_expires", _WHEN, nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.ForeignKeyConstraint(["slug"], ["modules.slug"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grading_jobs_state", "grading_jobs", ["state", "not_before"])
    op.create_table(
        "grading_workers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("heartbeat_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "publications",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("published_at", _WHEN, nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("kind", "slug"),
    )
    op.create_table(
        "attempt_choices",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.ForeignKeyConstraint(["slug"], ["modules.slug"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("student_id", "slug"),
    )


def downgrade() -> None:
    """Drop them."""
    for table in ("attempt_choices", "publications", "grading_workers"):
        op.drop_table(table)
    op.drop_index("ix_grading_jobs_state", table_name="grading_jobs")
    op.drop_table("grading_jobs")
