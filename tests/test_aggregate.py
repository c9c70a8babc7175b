"""gradebook.aggregate: module, report, presentation, bonus and final grades by hand.

The course: term starts Monday 2026-10-12, due 23:59 Europe/Berlin.
- module a: release week 1, due +7 days -> 2026-10-19 23:59 CEST (21:59 UTC);
  autograded 10, written 5, weight 0.25.
- module b: release week 2, due +7 days -> 2026-10-26 23:59 CET (22:59 UTC, after the
  DST change on 2026-10-25); autograded 8, written 2, weight 0.75.
- late curve: 0.1 per started day, floor 0.5, cut-off 7 days.
"""

from __future__ import annotations

from datetime import date, time

import numpy as np
import pandas as pd
import pytest

from autograder.config import ConfigError, Course, GradeScale, LateCurve, ModuleSpec
from gradebook.aggregate import (
    assign_grades,
    counted_attempts,
    due_datetime,
    final_grades,
    late_factor,
    late_factors,
    module_scores,
)

GERMAN = GradeScale(name="german", bands=(
    (95, "1.0"), (90, "1.3"), (85, "1.7"), (80, "2.0"), (75, "2.3"), (70, "2.7"),
    (65, "3.0"), (60, "3.3"), (55, "3.7"), (50, "4.0"), (0, "5.0")))
LETTER = GradeScale(name="letter", bands=(
    (93, "A"), (90, "A-"), (87, "B+"), (83, "B"), (80, "B-"), (77, "C+"),
    (73, "C"), (70, "C-"), (60, "D"), (0, "F")))
MIN = pd.Timedelta(minutes=1)
DAY = pd.Timedelta(days=1)


def _course(**kw) -> Course:
    base = dict(
        name="c", term="t", term_start=date(2026, 10, 12), due_time=time(23, 59),
        timezone="Europe/Berlin",
        modules=(
            ModuleSpec(slug="a", title="A", release_week=1, due_offset_days=7,
                       autograded_points=10, written_points=5, weight=0.25),
            ModuleSpec(slug="b", title="B", release_week=2, due_offset_days=7,
                       autograded_points=8, written_points=2, weight=0.75),
        ),
        late=LateCurve(per_day=0.1, floor=0.5, cutoff_days=7),
        grade_scales=(GERMAN, LETTER),
    )
    base.update(kw)
    return Course(**base)


COURSE = _course()
DUE_A = due_datetime(COURSE, "a")
DUE_B = due_datetime(COURSE, "b")


def _attempts(*rows) -> pd.DataFrame:
    """(student_id, slug, submitted_at, autograded) rows."""
    return pd.DataFrame(list(rows), columns=["student_id", "slug", "submitted_at", "autograded"])


def _manual(*rows) -> pd.DataFrame:
    """(student_id, component, slug, points, max_points) rows."""
    return pd.DataFrame(list(rows),
                        columns=["student_id", "component", "slug", "points", "max_points"])


def _extensions(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["student_id", "slug", "days"])


NO_ATTEMPTS = _attempts()


# --- due times and the late curve --------------------------------------------------------
def test_due_time_is_local_and_extensions_move_calendar_days_across_dst():
    assert DUE_A == pd.Timestamp("2026-10-19 23:59", tz="Europe/Berlin")
    assert DUE_A.tz_convert("UTC") == pd.Timestamp("2026-10-19 21:59", tz="UTC")  # CEST
    assert DUE_B.tz_convert("UTC") == pd.Timestamp("2026-10-26 22:59", tz="UTC")  # CET
    # 7 extra days cross the DST change: still 23:59 local, i.e. 7 x 24 h + 1 h later
    assert due_datetime(COURSE, "a", 7) == pd.Timestamp("2026-10-26 23:59", tz="Europe/Berlin")
    assert due_datetime(COURSE, "a", 7) - DUE_A == pd.Timedelta(hours=7 * 24 + 1)


@pytest.mark.parametrize("offset, expected", [
    (-DAY, 1.0),                    # early
    (pd.Timedelta(0), 1.0),         # exactly at the due time: on time
    (MIN, 0.9),                     # 1 minute late: ceil(0.0007) = 1 -> 1 - 0.1
    (DAY, 0.9),                     # exactly 1 day: ceil(1) = 1 -> 0.9
    (DAY + MIN, 0.8),               # ceil(1.0007) = 2 -> 0.8
    (2.5 * DAY, 0.7),               # ceil(2.5) = 3 -> 1 - 0.3
    (4 * DAY + MIN, 0.5),           # ceil -> 5 -> 1 - 0.5 = 0.5
    (6 * DAY, 0.5),                 # 1 - 0.6 = 0.4 -> floor 0.5
    (7 * DAY, 0.5),                 # exactly at the cut-off still counts (floor)
    (7 * DAY + MIN, 0.0),           # after the cut-off
    (30 * DAY, 0.0),
])
def test_late_factor(offset, expected):
    assert late_factor(COURSE, DUE_A + offset, DUE_A) == pytest.approx(expected)
    # the submission's zone does not matter
    submitted = (DUE_A + offset).tz_convert("America/New_York")
    assert late_factor(COURSE, submitted, DUE_A) == pytest.approx(expected)


def test_vectorised_late_factors_match_the_scalar_one():
    offsets = [pd.Timedelta(0), MIN, 2.5 * DAY, 6 * DAY, 7 * DAY + MIN]
    submitted = pd.Series([DUE_A + o for o in offsets])
    due = pd.Series([DUE_A] * len(offsets))
    got = late_factors(COURSE, submitted, due)
    assert got.tolist() == pytest.approx([1.0, 0.9, 0.7, 0.5, 0.0])


# --- counted attempts --------------------------------------------------------------------
def test_the_last_attempt_before_the_cutoff_counts_even_if_an_earlier_one_scored_higher():
    att = _attempts(
        ("s1", "a", DUE_A - DAY, 10.0),                                  # on time, full marks
        ("s1", "a", (DUE_A + 1.5 * DAY).tz_convert("Asia/Tokyo"), 6.0),  # counted
        ("s1", "a", DUE_A + 8 * DAY, 9.0),                               # after cut-off
    )
    counted = counted_attempts(COURSE, att, None)
    assert len(counted) == 1
    row = counted.iloc[0]
    assert row["autograded"] == 6.0
    assert row["late_factor"] == pytest.approx(0.8)  # ceil(1.5) = 2 -> 0.8
    assert not row["after_cutoff"]
    assert row["submitted_at"] == DUE_A + 1.5 * DAY
    # module a: 0.8 x 100 x (6 + 0 + 0) / (10 + 5 + 0) = 0.8 x 40 = 32
    scores = module_scores(COURSE, att, None, None, ["s1"])
    assert scores.loc["s1", "a"] == pytest.approx(32.0)


def test_only_attempts_after_the_cutoff_count_with_factor_zero():
    att = _attempts(("s1", "a", DUE_A + 8 * DAY, 10.0), ("s1", "a", DUE_A + 9 * DAY, 7.0))
    counted = counted_attempts(COURSE, att, None)
    assert counted[["autograded", "late_factor", "after_cutoff"]].values.tolist() == [
        [7.0, 0.0, True]]
    manual = _manual(("s1", "written", "a", 5.0, 5.0))
    # factor 0 zeroes the whole module, written points included
    assert module_scores(COURSE, att, manual, None, ["s1"]).loc["s1", "a"] == 0.0


def test_an_extension_moves_both_the_due_time_and_the_cutoff():
    ext = _extensions(("s1", "a", 3), ("s2", "a", 3), ("s3", "a", 3), ("s4", "a", 7))
    att = _attempts(
        ("s1", "a", DUE_A + 3 * DAY, 10.0),             # exactly at the extended due: 1.0
        ("s2", "a", DUE_A + 4.5 * DAY, 10.0),           # 1.5 days late -> ceil 2 -> 0.8
        ("s3", "a", DUE_A + 9 * DAY, 10.0),             # 6 d late (past the old cut-off) -> 0.5
        ("s3", "a", DUE_A + 10 * DAY + MIN, 10.0),      # past the extended cut-off: ignored
        ("s4", "a", pd.Timestamp("2026-10-26 23:30", tz="Europe/Berlin"), 10.0),  # DST: on time
        ("s5", "a", DUE_A + 3 * DAY, 10.0),             # no extension: 3 days late -> 0.7
    )
    counted = counted_attempts(COURSE, att, ext).set_index("student_id")
    assert counted["late_factor"].to_dict() == pytest.approx(
        {"s1": 1.0, "s2": 0.8, "s3": 0.5, "s4": 1.0, "s5": 0.7})
    assert counted.loc["s3", "submitted_at"] == DUE_A + 9 * DAY
    assert counted.loc["s1", "due"] == DUE_A + 3 * DAY


def test_extension_rows_for_one_module_add_up():
    ext = _extensions(("s1", "a", 1), ("s1", "a", 2))
    att = _attempts(("s1", "a", DUE_A + 3 * DAY, 10.0))  # 1 + 2 = 3 extra days: on time
    assert counted_attempts(COURSE, att, ext)["late_factor"].tolist() == [1.0]


def test_an_ungraded_counted_attempt_scores_zero_points():
    att = _attempts(("s1", "a", DUE_A - DAY, 10.0), ("s1", "a", DUE_A - MIN, np.nan))
    assert module_scores(COURSE, att, None, None, ["s1"]).loc["s1", "a"] == 0.0


# --- module scores -----------------------------------------------------------------------
def test_module_score_combines_autograded_written_and_report_points():
    att = _attempts(
        ("s1", "a", DUE_A - DAY, 8.0),
        ("s2", "a", DUE_A - DAY, 10.0),
        ("s4", "a", DUE_A + 1.5 * DAY, 8.0),
        ("stranger", "a", DUE_A, 10.0),       # not on the roster: ignored
        ("s1", "zzz", DUE_A, 10.0),           # not a configured module: ignored
    )
    manual = _manual(
        ("s1", "written", "a", 4.0, 5.0), ("s1", "module_report", "a", 3.0, 5.0),
        ("s2", "written", "a", 5.0, 5.0),     # no report row: max 5 from s1, 0 points
        ("s3", "written", "a", 5.0, 5.0),     # no submission: factor 1 on manual points
        ("s4", "written", "a", 4.0, 5.0), ("s4", "module_report", "a", 3.0, 5.0),
    )
    scores = module_scores(COURSE, att, manual, None, ["s1", "s2", "s3", "s4"])
    assert list(scores.columns) == ["a", "b"]
    assert list(scores.index) == ["s1", "s2", "s3", "s4"]
    expected_a = {
        "s1": 75.0,  # 100 x (8 + 4 + 3) / (10 + 5 + 5) = 100 x 15/20
        "s2": 75.0,  # 100 x (10 + 5 + 0) / 20
        "s3": 25.0,  # 100 x (0 + 5 + 0) / 20
        "s4": 60.0,  # 1.5 days late -> 0.8 x 75
    }
    assert scores["a"].to_dict() == pytest.approx(expected_a)
    assert scores["b"].tolist() == [0.0] * 4  # nothing for b


# --- final grades ------------------------------------------------------------------------
def _eighty_percent(sid: str) -> tuple[pd.DataFrame, list[tuple]]:
    """Attempts and manual rows giving `sid` 80 % in both modules (so report 80)."""
    att = _attempts((sid, "a", DUE_A, 8.0), (sid, "b", DUE_B, 6.0))
    # a: 100 x (8 + 4) / 15 = 80;  b: 100 x (6 + 2) / 10 = 80
    return att, [(sid, "written", "a", 4.0, 5.0), (sid, "written", "b", 2.0, 2.0)]


def test_the_40_60_scheme():
    att, rows = _eighty_percent("s1")
    manual = _manual(*rows, ("s1", "presentation", None, 3.0, 10.0),
                     ("s1", "presentation", None, 7.0, 10.0))
    got = final_grades(COURSE, att, manual, None, ["s1"]).loc["s1"]
    assert got["a"] == pytest.approx(80.0) and got["b"] == pytest.approx(80.0)
    assert got["report"] == pytest.approx(80.0)
    assert got["presentation"] == pytest.approx(50.0)  # 100 x (3 + 7) / (10 + 10)
    assert got["bonus"] == 0.0
    assert got["final"] == pytest.approx(62.0)  # 0.4 x 80 + 0.6 x 50 = 32 + 30
    assert got["grade"] == "3.3" and got["grade_german"] == "3.3"  # 60 <= 62 < 65
    assert got["grade_letter"] == "D"  # 60 <= 62 < 70


def test_module_weights_in_the_report():
    att = _attempts(("s1", "a", DUE_A, 10.0), ("s1", "b", DUE_B, 2.0))
    manual = _manual(("s1", "written", "a", 2.0, 5.0), ("s1", "written", "b", 2.0, 2.0))
    got = final_grades(COURSE, att, manual, None, ["s1"]).loc["s1"]
    assert got["a"] == pytest.approx(80.0)  # 100 x (10 + 2) / 15
    assert got["b"] == pytest.approx(40.0)  # 100 x (2 + 2) / 10
    assert got["report"] == pytest.approx(50.0)  # 0.25 x 80 + 0.75 x 40 = 20 + 30
    assert got["final"] == pytest.approx(20.0)  # 0.4 x 50 + 0.6 x 0


def test_bonus_is_capped_and_the_final_is_at_most_100():
    att, rows = _eighty_percent("s1")
    full = _attempts(("s2", "a", DUE_A, 10.0), ("s2", "b", DUE_B, 8.0))
    manual = _manual(
        *rows, ("s1", "presentation", None, 5.0, 10.0),
        ("s1", "bonus", None, 4.0, 0.0), ("s1", "bonus", None, 3.0, 0.0),  # 7 -> cap 5
        ("s2", "written", "a", 5.0, 5.0), ("s2", "written", "b", 2.0, 2.0),
        ("s2", "presentation", None, 10.0, 10.0), ("s2", "bonus", None, 2.0, 0.0),
    )
    got = final_grades(COURSE, pd.concat([att, full]), manual, None, ["s1", "s2"])
    assert got.loc["s1", "bonus"] == 5.0
    assert got.loc["s1", "final"] == pytest.approx(67.0)  # 32 + 30 + 5
    assert got.loc["s2", "bonus"] == 2.0
    assert got.loc["s2", "final"] == 100.0  # 40 + 60 + 2 = 102 -> 100
    assert got.loc["s2", "grade"] == "1.0" and got.loc["s2", "grade_letter"] == "A"


def test_grades_exactly_on_a_band_minimum():
    att = _attempts(
        ("top", "a", DUE_A, 10.0), ("top", "b", DUE_B, 7.5),
        ("pass", "a", DUE_A, 5.0), ("pass", "b", DUE_B, 5.0),
    )
    manual = _manual(
        # top: a = 100 x (10 + 5 + 4) / 20 = 95; b = 100 x (7.5 + 2) / 10 = 95
        ("top", "written", "a", 5.0, 5.0), ("top", "module_report", "a", 4.0, 5.0),
        ("top", "written", "b", 2.0, 2.0), ("top", "presentation", None, 19.0, 20.0),
        # pass: a = 100 x (5 + 5 + 0) / 20 = 50 (report max 5 from top); b = 100 x 5/10 = 50
        ("pass", "written", "a", 5.0, 5.0), ("pass", "presentation", None, 1.0, 2.0),
    )
    got = final_grades(COURSE, att, manual, None, ["top", "pass"])
    # top: 0.4 x 95 + 0.6 x 95 = 95 exactly (no float noise below the band)
    assert got.loc["top", "final"] == 95.0
    assert got.loc["top", "grade"] == "1.0" and got.loc["top", "grade_letter"] == "A"
    # pass: 0.4 x 50 + 0.6 x 50 = 50 -> "4.0", letter F (< 60)
    assert got.loc["pass", "final"] == 50.0
    assert got.loc["pass", "grade"] == "4.0" and got.loc["pass", "grade_letter"] == "F"
    by_letter = final_grades(COURSE, att, manual, None, ["top", "pass"], scale="letter")
    assert by_letter["grade"].tolist() == ["A", "F"]


@pytest.mark.parametrize("scale", [GERMAN, LETTER])
def test_vectorised_grades_match_grade_scale_grade(scale):
    values = [100, 95, 94.999, 93, 92.99, 90, 89.9, 80, 60, 59.99, 50, 49.999, 0, -3, np.nan]
    got = assign_grades(scale, pd.Series(values, dtype=float)).tolist()
    assert got == [scale.grade(v) for v in values]
    assert got[:2] == (["1.0", "1.0"] if scale is GERMAN else ["A", "A"])


def test_a_student_with_nothing_gets_zeros_and_the_lowest_grade():
    att, rows = _eighty_percent("busy")
    got = final_grades(COURSE, att, _manual(*rows), None, ["busy", "idle"]).loc["idle"]
    for column in ("a", "b", "report", "presentation", "bonus", "final"):
        assert got[column] == 0.0
    assert got["grade"] == "5.0" and got["grade_letter"] == "F"
    # the same with no data at all
    empty = final_grades(COURSE, NO_ATTEMPTS, None, None, ["idle"]).loc["idle"]
    assert empty["final"] == 0.0 and empty["grade"] == "5.0"


def test_a_thousand_synthetic_students_give_one_row_each():
    rng = np.random.default_rng(0)
    students = [f"s{i:04d}" for i in range(1000)]
    rows = []
    for slug, due, top in (("a", DUE_A, 10.0), ("b", DUE_B, 8.0)):
        for sid in students:
            for _ in range(int(rng.integers(0, 4))):
                hours = float(rng.uniform(-100, 200))
                rows.append((sid, slug, due + pd.Timedelta(hours=hours),
                             float(rng.uniform(0, top))))
    manual = _manual(*[(sid, "presentation", None, float(rng.uniform(0, 10)), 10.0)
                       for sid in students[::2]])
    ext = _extensions(*[(sid, "a", 2) for sid in students[::7]])
    got = final_grades(COURSE, _attempts(*rows), manual, ext, students)
    assert got.shape == (1000, 9)
    assert list(got.columns) == ["a", "b", "report", "presentation", "bonus", "final",
                                 "grade", "grade_german", "grade_letter"]
    assert list(got.index) == students
    assert got["final"].between(0, 100).all()
    assert got["grade"].isin([label for _, label in GERMAN.bands]).all()


# --- errors ------------------------------------------------------------------------------
def test_unknown_scale_missing_columns_and_naive_times_are_reported():
    with pytest.raises(ConfigError, match="unknown grade scale 'ects'.*german, letter"):
        final_grades(COURSE, NO_ATTEMPTS, None, None, ["s1"], scale="ects")
    with pytest.raises(ValueError, match="attempts: missing column"):
        counted_attempts(COURSE, pd.DataFrame({"student_id": ["s1"]}), None)
    naive = _attempts(("s1", "a", pd.Timestamp("2026-10-19 12:00"), 1.0))
    with pytest.raises(ValueError, match="tz-aware"):
        counted_attempts(COURSE, naive, None)


def test_no_grade_scales_leaves_the_grade_empty():
    course = _course(grade_scales=())
    got = final_grades(course, NO_ATTEMPTS, None, None, ["s1"])
    assert got.loc["s1", "grade"] is None
    assert "grade_german" not in got.columns
