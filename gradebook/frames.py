"""The gradebook's rows as the DataFrames `gradebook.aggregate` takes."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from gradebook.models import Extension, ManualScore, Student
from gradebook.results import AttemptPolicy, counted_results


def load_frames(engine: Engine, course: Course, policy: AttemptPolicy | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """(attempts, manual, extensions, student ids) from the database.

    `attempts` has one row per (student, module) with a submission: the counted attempt
    of `gradebook.results.counted_results` under `policy`, with the score of the result
    that counts (overrides included; NaN while its attempt is pending). The aggregation's
    own choice of the counted attempt then finds that one row. For manual scores, the
    newest entry per (student, component, module) counts; older ones stay in the table and
    the audit log.
    """
    results = counted_results(course, engine, policy=policy, with_tests=False)
    with Session(engine) as session:
        students = list(session.scalars(select(Student.id).order_by(Student.id)))
        manual = session.execute(select(ManualScore.student_id, ManualScore.component,
                                        ManualScore.slug, ManualScore.points,
                                        ManualScore.max_points, ManualScore.id)).all()
        ext = session.execute(select(Extension.student_id, Extension.slug, Extension.days)).all()
    counted = list(results.values())
    attempts = pd.DataFrame({
        "student_id": pd.Series([r.student_id for r in counted], dtype=object),
        "slug": pd.Series([r.slug for r in counted], dtype=object),
        "submitted_at": pd.to_datetime([r.submitted_at for r in counted], utc=True),
        "autograded": pd.Series([float("nan") if r.score is None else r.score for r in counted],
                                dtype=float)})
    mframe = pd.DataFrame(manual, columns=["student_id", "component", "slug", "points",
                                           "max_points", "id"])
    if not mframe.empty:
        mframe = (mframe.sort_values("id")
                  .drop_duplicates(["student_id", "component", "slug"], keep="last")
                  .drop(columns="id"))
    else:
        mframe = mframe.drop(columns="id")
    extensions = pd.DataFrame(ext, columns=["student_id", "slug", "days"])
    return attempts, mframe, extensions, students
