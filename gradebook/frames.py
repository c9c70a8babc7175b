"""The gradebook's rows as the DataFrames `gradebook.aggregate` takes."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gradebook.models import Extension, GradingRun, ManualScore, Student, Submission


def load_frames(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """(attempts, manual, extensions, student ids) from the database.

    An attempt's autograded score is that of the newest grading run of its notebook
    content (NaN when it has none yet), plus the student's overrides for that module
    (`course override`; measured against the latest graded attempt, applied to the
    module's attempts). For manual scores, the newest entry per
    (student, component, module) counts; older ones stay in the table and the audit log.
    """
    with Session(engine) as session:
        students = list(session.scalars(select(Student.id).order_by(Student.id)))
        runs = session.execute(select(GradingRun.slug, GradingRun.sha256, GradingRun.score,
                                      GradingRun.created_at, GradingRun.id)).all()
        subs = session.execute(select(Submission.student_id, Submission.slug, Submission.sha256,
                                      Submission.submitted_at)).all()
        manual = session.execute(select(ManualScore.student_id, ManualScore.component,
                                        ManualScore.slug, ManualScore.points,
                                        ManualScore.max_points, ManualScore.id)).all()
        ext = session.execute(select(Extension.student_id, Extension.slug, Extension.days)).all()
    latest: dict[tuple[str, str], float] = {}
    for slug, sha, score, _created, _id in sorted(runs, key=lambda r: (r[3], r[4])):
        latest[(slug, sha)] = score
    attempts = pd.DataFrame([(s, m, pd.Timestamp(t, tz="UTC") if t.tzinfo is None else pd.Timestamp(t),
                              latest.get((m, sha), float("nan"))) for s, m, sha, t in subs],
                            columns=["student_id", "slug", "submitted_at", "autograded"])
    from gradebook.scores import apply_overrides

    for (student, slug), delta in apply_overrides(engine).items():  # regrade requests
        rows = (attempts["student_id"] == student) & (attempts["slug"] == slug)
        attempts.loc[rows, "autograded"] = attempts.loc[rows, "autograded"] + delta
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
