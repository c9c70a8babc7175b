"""Grade aggregation: attempts, manual scores and extensions in, module and final grades out.

Pure functions over pandas DataFrames (no database, no I/O), vectorised so that a whole
course (10,000 students x 6 modules) aggregates in well under a second. The scheme is the
one in docs/architecture.md, "The gradebook and the grading scheme"; every weight and
curve comes from the `Course`.

Input frames (extra columns are ignored; `manual` and `extensions` may be None):
- attempts:   student_id, slug, submitted_at (tz-aware), autograded (points, NaN = not graded)
- manual:     student_id, component (written | module_report | presentation | bonus),
              slug (None for presentation and bonus), points, max_points
- extensions: student_id, slug, days (int)

Choices where the scheme is silent:
- Extensions move the due time by calendar days in the course timezone (23:59 stays 23:59
  across a DST change); several extension rows for one (student, module) are summed.
- Days late are elapsed time: a submission is on time up to and including the due instant,
  and counted up to and including due + cutoff_days x 24 h.
- The counted attempt is the last one (by submitted_at; ties: the later row) up to the
  cut-off. A NaN autograded score on it counts as 0 points (it is not replaced by an
  older graded attempt). If a student only submitted after the cut-off, the module counts
  with factor 0, which zeroes the manual points of that module too.
- No submission at all: autograded 0 and late factor 1.0, so manual points still count.
- The module_report maximum is the student's own Σ max_points; a student without a
  module_report row for the module gets the largest such maximum of any other student
  (0 if nobody has one), i.e. a missing report scores 0 out of the usual maximum.
- Written maxima come from the config (`written_points`), not from the manual rows.
- A module whose total maximum is 0 scores 0. Module scores are not clipped.
- Rows for students outside `students` or modules outside the config are ignored.
- `final` is rounded to 9 decimals before grading so that float noise cannot push a
  score that is exactly on a band minimum below it. With no grade scales configured the
  `grade` column is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autograder.config import ConfigError, Course, GradeScale, LateCurve

NS_PER_DAY = 86_400 * 10**9
ATTEMPT_COLUMNS = ("student_id", "slug", "submitted_at", "autograded")
MANUAL_COLUMNS = ("student_id", "component", "slug", "points", "max_points")
EXTENSION_COLUMNS = ("student_id", "slug", "days")
KEYS = ["student_id", "slug"]


def _frame(df: pd.DataFrame | None, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    """The needed columns of an input frame (an empty frame for None); ValueError if missing."""
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; "
                         f"expected {', '.join(columns)}")
    return df.loc[:, list(columns)].reset_index(drop=True)


def _utc_ns(values: pd.Series) -> pd.Series:
    """Tz-aware timestamps as datetime64[ns, UTC]; ValueError for naive ones."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        raise ValueError("attempts.submitted_at must be tz-aware; localize it (e.g. to UTC)")
    return pd.to_datetime(values, utc=True).dt.as_unit("ns")


def due_datetime(course: Course, slug: str, extra_days: int = 0) -> pd.Timestamp:
    """The module's due instant: due date (+ extra_days) at `course.due_time`, course zone."""
    day = course.due_date(slug) + timedelta(days=int(extra_days))
    return pd.Timestamp(datetime.combine(day, course.due_time, tzinfo=course.tz))


def _factors_from_ns(late_ns: np.ndarray, late: LateCurve) -> np.ndarray:
    """Late factors for integer nanoseconds after the due time (exact ceil of days)."""
    late_ns = np.asarray(late_ns, dtype=np.int64)
    started_days = -((-late_ns) // NS_PER_DAY)  # ceil for positive values, exact
    curve = np.maximum(late.floor, 1.0 - late.per_day * started_days)
    factor = np.where(late_ns <= 0, 1.0, curve)
    return np.where(late_ns > late.cutoff_days * NS_PER_DAY, 0.0, factor)


def late_factor(course: Course, submitted_at: pd.Timestamp, due: pd.Timestamp) -> float:
    """1.0 up to the due time; max(floor, 1 - per_day x ceil(days late)); 0.0 after cut-off."""
    delta = (pd.Timestamp(submitted_at) - pd.Timestamp(due)).as_unit("ns")
    return float(_factors_from_ns(np.array([delta.value]), course.late)[0])


def late_factors(course: Course, submitted_at: pd.Series, due: pd.Series) -> pd.Series:
    """Vectorised `late_factor` for aligned Series of tz-aware timestamps."""
    delta = _utc_ns(submitted_at) - _utc_ns(due)
    ns = delta.to_numpy(dtype="timedelta64[ns]").view(np.int64)
    return pd.Series(_factors_from_ns(ns, course.late), index=submitted_at.index,
                     name="late_factor")


def extension_days(extensions: pd.DataFrame | None) -> pd.DataFrame:
    """Σ extension days per (student_id, slug): columns student_id, slug, days (int)."""
    ext = _frame(extensions, EXTENSION_COLUMNS, "extensions")
    ext = ext.assign(days=pd.to_numeric(ext["days"]).fillna(0).astype(np.int64))
    return ext.groupby(KEYS, as_index=False, sort=False)["days"].sum()


def counted_attempts(course: Course, attempts: pd.DataFrame,
                     extensions: pd.DataFrame | None = None,
                     keep: Sequence[str] = ()) -> pd.DataFrame:
    """The counted attempt per (student, module) with its late factor.

    Returns one row per (student_id, slug) with any attempt on a configured module, sorted
    by student and slug, with columns student_id, slug, submitted_at (UTC), autograded, due
    (UTC, moved by the extension), days (Σ extension days), late_factor and after_cutoff
    (True when only attempts after the cut-off exist: the last of them is shown and the
    factor is 0), then the `keep` columns of `attempts` (e.g. a submission id) as given.
    """
    slugs = [m.slug for m in course.modules]
    att = _frame(attempts, ATTEMPT_COLUMNS + tuple(keep), "attempts")
    att = att[att["slug"].isin(slugs)]
    att = att.assign(submitted_at=_utc_ns(att["submitted_at"]),
                     autograded=pd.to_numeric(att["autograded"]).astype(float))
    att = att.merge(extension_days(extensions), on=KEYS, how="left")
    att["days"] = att["days"].fillna(0).astype(np.int64)

    pairs = att[["slug", "days"]].drop_duplicates()
    pairs["due"] = pd.Series(
        [due_datetime(course, s, d) for s, d in zip(pairs["slug"], pairs["days"])],
        index=pairs.index, dtype="datetime64[ns, UTC]")
    att = att.merge(pairs, on=["slug", "days"], how="left")

    late_ns = (att["submitted_at"] - att["due"]).to_numpy(dtype="timedelta64[ns]").view(np.int64)
    att["late_factor"] = _factors_from_ns(late_ns, course.late)
    att["after_cutoff"] = late_ns > course.late.cutoff_days * NS_PER_DAY
    att = att.sort_values("submitted_at", kind="stable")

    in_window = att[~att["after_cutoff"]].drop_duplicates(KEYS, keep="last")
    late_only = att[att["after_cutoff"]].drop_duplicates(KEYS, keep="last")
    late_only = late_only.merge(in_window[KEYS], on=KEYS, how="left", indicator=True)
    late_only = late_only[late_only["_merge"] == "left_only"].drop(columns="_merge")

    out = pd.concat([in_window, late_only], ignore_index=True)
    columns = ["student_id", "slug", "submitted_at", "autograded", "due", "days",
               "late_factor", "after_cutoff", *keep]
    return out.sort_values(KEYS, kind="stable").reset_index(drop=True)[columns]


def _student_index(students: Iterable[str]) -> pd.Index:
    """The roster as a unique Index named student_id, in the given order."""
    return pd.Index(list(students), name="student_id").unique()


def module_breakdown(course: Course, attempts: pd.DataFrame, manual: pd.DataFrame | None,
                     extensions: pd.DataFrame | None,
                     students: Iterable[str]) -> pd.DataFrame:
    """Long table, one row per (student, module) for every roster student and module.

    Columns: autograded, written, module_report (points), max_points (autograded + written
    maxima from the config plus the module_report maximum), late_factor and score (%).
    Indexed by (student_id, slug) in roster x module order.
    """
    slugs = [m.slug for m in course.modules]
    grid = pd.MultiIndex.from_product([_student_index(students), slugs],
                                      names=["student_id", "slug"])

    counted = counted_attempts(course, attempts, extensions).set_index(KEYS)
    auto = counted["autograded"].fillna(0.0).reindex(grid, fill_value=0.0)
    factor = counted["late_factor"].reindex(grid, fill_value=1.0)

    man = _frame(manual, MANUAL_COLUMNS, "manual")
    man = man[man["component"].isin(["written", "module_report"]) & man["slug"].isin(slugs)]
    man = man.assign(points=pd.to_numeric(man["points"]).astype(float),
                     max_points=pd.to_numeric(man["max_points"]).astype(float))
    sums = man.groupby(KEYS + ["component"])[["points", "max_points"]].sum()
    points = sums["points"].unstack("component").reindex(
        columns=["written", "module_report"]).reindex(grid).fillna(0.0)
    report_max = sums["max_points"].unstack("component").reindex(
        columns=["module_report"])["module_report"]
    usual_max = report_max.groupby(level="slug").max().reindex(slugs).fillna(0.0)
    own_max = report_max.reindex(grid)
    fallback = usual_max.reindex(grid.get_level_values("slug")).to_numpy()
    report_max = own_max.fillna(pd.Series(fallback, index=grid))

    spec_max = pd.Series({m.slug: m.autograded_points + m.written_points for m in course.modules})
    total_max = spec_max.reindex(grid.get_level_values("slug")).to_numpy() + report_max.to_numpy()
    earned = auto.to_numpy() + points["written"].to_numpy() + points["module_report"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total_max > 0, earned / total_max, 0.0)
    return pd.DataFrame({
        "autograded": auto.to_numpy(),
        "written": points["written"].to_numpy(),
        "module_report": points["module_report"].to_numpy(),
        "max_points": total_max,
        "late_factor": factor.to_numpy(),
        "score": factor.to_numpy() * 100.0 * ratio,
    }, index=grid)


def module_scores(course: Course, attempts: pd.DataFrame, manual: pd.DataFrame | None,
                  extensions: pd.DataFrame | None, students: Iterable[str],
                  breakdown: pd.DataFrame | None = None) -> pd.DataFrame:
    """Module score (%) per student (index student_id) and module (one column per slug).

    `breakdown` is `module_breakdown` of the same inputs when the caller has it already.
    """
    if breakdown is None:
        breakdown = module_breakdown(course, attempts, manual, extensions, students)
    scores = breakdown["score"]
    wide = scores.unstack("slug")
    wide = wide.reindex(index=_student_index(students),
                        columns=[m.slug for m in course.modules])
    wide.columns.name = None
    return wide


def assign_grades(scale: GradeScale, percent: pd.Series) -> pd.Series:
    """Vectorised `GradeScale.grade`: the first band (highest first) whose minimum is reached."""
    values = percent.to_numpy(dtype=float)
    labels = np.full(len(values), scale.bands[-1][1], dtype=object)
    for minimum, label in reversed(scale.bands):
        labels[values >= minimum] = label
    return pd.Series(labels, index=percent.index, name=f"grade_{scale.name}")


def _scale(course: Course, name: str | None) -> GradeScale | None:
    """The named grade scale, the first configured one for None, None when there are none."""
    if name is None:
        return course.grade_scales[0] if course.grade_scales else None
    for scale in course.grade_scales:
        if scale.name == name:
            return scale
    known = ", ".join(s.name for s in course.grade_scales) or "none configured"
    raise ConfigError(f"unknown grade scale {name!r}; course_config.py lists: {known}")


def _manual_percent(man: pd.DataFrame, component: str, roster: pd.Index) -> pd.DataFrame:
    """Σ points and Σ max_points of one manual component per roster student (0 if none)."""
    rows = man[man["component"] == component]
    rows = rows.assign(points=pd.to_numeric(rows["points"]).astype(float),
                       max_points=pd.to_numeric(rows["max_points"]).astype(float))
    sums = rows.groupby("student_id")[["points", "max_points"]].sum()
    return sums.reindex(roster).fillna(0.0)


def final_grades(course: Course, attempts: pd.DataFrame, manual: pd.DataFrame | None,
                 extensions: pd.DataFrame | None, students: Iterable[str],
                 scale: str | None = None, breakdown: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """Module scores, report, presentation, bonus, final (%) and grades per student.

    Columns: one per module slug, report, presentation, bonus, final, grade (the named
    scale, or the first configured one), then grade_<name> for every configured scale.
    `breakdown`: as in `module_scores`.
    """
    roster = _student_index(students)
    out = module_scores(course, attempts, manual, extensions, roster, breakdown)
    weights = np.array([m.weight for m in course.modules], dtype=float)
    weights = weights / weights.sum()
    out["report"] = out[[m.slug for m in course.modules]].to_numpy() @ weights

    man = _frame(manual, MANUAL_COLUMNS, "manual")
    pres = _manual_percent(man, "presentation", roster)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["presentation"] = np.where(pres["max_points"] > 0,
                                       100.0 * pres["points"] / pres["max_points"], 0.0)
    bonus = _manual_percent(man, "bonus", roster)["points"]
    out["bonus"] = np.minimum(bonus.to_numpy(), course.bonus_cap)

    final = (course.report_weight * out["report"]
             + course.presentation_weight * out["presentation"] + out["bonus"])
    out["final"] = final.clip(upper=100.0).round(9)

    chosen = _scale(course, scale)
    out["grade"] = (assign_grades(chosen, out["final"]).to_numpy() if chosen is not None
                    else pd.Series([None] * len(out), index=out.index, dtype=object))
    for each in course.grade_scales:
        out[f"grade_{each.name}"] = assign_grades(each, out["final"]).to_numpy()
    return out
