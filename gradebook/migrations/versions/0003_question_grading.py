"""Grading in the web app: queues, rubrics in use, per-question grades, claims, comments;
the source of a manual score.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the grading tables; manual_scores gets `source` ("" for older rows)."""
    op.create_table(
        "grading_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=32), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=32), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("code_cells", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("component", "slug", "question"),
    )
    op.create_table(
        "rubric_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_points", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["grading_queues.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rubric_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("deleted_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["part_id"], ["rubric_parts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "answer_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("adjustment", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_note", sa.Text(), nullable=False),
        sa.Column("grader", sa.String(length=200), nullable=False),
        sa.Column("graded_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["queue_id"], ["grading_queues.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("queue_id", "student_id"),
    )
    op.create_table(
        "applied_items",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answer_grades.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["rubric_items.id"]),
        sa.PrimaryKeyConstraint("answer_id", "item_id"),
    )
    op.create_table(
        "grading_claims",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("grader", sa.String(length=200), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["grading_queues.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("queue_id", "student_id"),
    )
    op.create_table(
        "grading_skips",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("grader", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["grading_queues.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("queue_id", "student_id", "grader"),
    )
    op.create_table(
        "comment_bank",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["grading_queues.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("manual_scores") as batch:
        batch.add_column(sa.Column("source", sa.String(length=500), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    """Drop them (children first) and the `source` column."""
    with op.batch_alter_table("manual_scores") as batch:
        batch.drop_column("source")
    for table in ("comment_bank", "grading_skips", "grading_claims", "applied_items",
                  "answer_grades", "rubric_items", "rubric_parts", "grading_queues"):
        op.drop_table(table)
