"""The result that counts: one definition for feedback, overrides, final grades and stats.

For one (student, module) the result that counts is built in three steps:

1. The counted attempt, chosen by an `AttemptPolicy` from the student's submissions.
   `LastBeforeCutoff` (the default, `LAST_BEFORE_CUTOFF`) is the rule of
   `gradebook.aggregate.counted_attempts`: the last attempt by submitted_at (ties: the
   later submission id) up to the late cut-off, moved by the student's extensions; when
   every attempt is after the cut-off, the last of them (its late factor is 0).
2. That attempt's grading run: the newest graded run (by creation time, then id) of the
   attempt's notebook content, whatever suite version produced it. Without one the result
   is `PENDING` (the attempt is collected but not graded yet); an older graded attempt
   never stands in for it.
3. The overrides (`course override`): for each test the newest override replaces the
   test's score in that run, clamped to 0..max_score; overrides of tests the run does not
   have (the suite changed) are not applied. The result's score is the run's score plus
   the sum of (override - test score).

`counted_results` returns these as `CountedResult`s; `course feedback`, `course override`,
`course final` (through `gradebook.frames.load_frames`), `course export` and
`course stats` all read them, so every command shows and counts the same run.

A policy is an object with `choose(course, attempts, extensions)`. The course's
`portal.attempt` names the one that applies when a caller passes none (`policy_for`):
`LastBeforeCutoff`, or `StudentChoice`, which counts the attempt each student chose in
the portal (`attempt_choices`) and applies the rule of `LastBeforeCutoff` where a
student chose none.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autograder.config import Course
from gradebook.aggregate import counted_attempts
from gradebook.models import AttemptChoice, Extension, GradingRun, Override, Submission

GRADED = "graded"
PENDING = "pending"
State = Literal["graded", "pending"]

POLICY_COLUMNS = ("student_id", "slug", "submitted_at", "autograded", "submission_id",
                  "attempt", "sha256")
_IN_CHUNK = 500  # ids per IN (...) clause, well below every backend's parameter limit


# --- the counted attempt ------------------------------------------------------------

class AttemptPolicy(Protocol):
    """Chooses the counted attempt of every (student, module)."""

    def choose(self, course: Course, attempts: pd.DataFrame,
               extensions: pd.DataFrame) -> pd.DataFrame:
        """One row per (student_id, slug) with a counted attempt.

        `attempts` has the columns POLICY_COLUMNS (one row per submission; autograded is
        NaN), `extensions` student_id, slug, days. The answer has the columns of
        `gradebook.aggregate.counted_attempts` (due, days, late_factor, after_cutoff)
        plus submission_id, attempt and sha256 of the chosen submission.
        """
        ...


@dataclass(frozen=True)
class LastBeforeCutoff:
    """The last attempt up to the late cut-off; else the last one after it (factor 0)."""

    name: str = "last before the cut-off"

    def choose(self, course: Course, attempts: pd.DataFrame,
               extensions: pd.DataFrame) -> pd.DataFrame:
        """`gradebook.aggregate.counted_attempts`, keeping the submission's identity."""
        return counted_attempts(course, attempts, extensions,
                                keep=("submission_id", "attempt", "sha256"))


LAST_BEFORE_CUTOFF = LastBeforeCutoff()


@dataclass(frozen=True)
class StudentChoice:
    """The attempt each student chose; where none is chosen, `LastBeforeCutoff`'s rule.

    A chosen attempt after the cut-off counts with late factor 0, as any such attempt.
    """

    choices: Mapping[tuple[str, str], int]  # (student_id, slug) -> submission id
    name: str = "the student's choice"

    def choose(self, course: Course, attempts: pd.DataFrame,
               extensions: pd.DataFrame) -> pd.DataFrame:
        keys = zip(attempts["student_id"], attempts["slug"], attempts["submission_id"])
        keep = [self.choices.get((sid, slug), sub) == sub for sid, slug, sub in keys]
        return LAST_BEFORE_CUTOFF.choose(course, attempts[keep], extensions)


def policy_for(course: Course, session: Session) -> AttemptPolicy:
    """The course's attempt rule (`portal.attempt`)."""
    if course.portal.attempt != "student_choice":
        return LAST_BEFORE_CUTOFF
    rows = session.execute(select(AttemptChoice.student_id, AttemptChoice.slug,
                                  AttemptChoice.submission_id)).all()
    return StudentChoice({(sid, slug): sub for sid, slug, sub in rows})


# --- the result -----------------------------------------------------------------------

@dataclass(frozen=True)
class AppliedOverride:
    """One override that changed a test's points in the counted run."""

    test: str
    points: float  # the points that count (the override clamped to 0..max_score)
    run_points: float  # the test's score in the run


@dataclass(frozen=True)
class CountedResult:
    """The result that counts for one (student, module).

    `state` is GRADED when the counted attempt has a graded run, PENDING otherwise; the
    run fields (run_id ... result) are None while pending. `score` includes the overrides,
    `run_score` is the run's own score. `result` is the run's results.json with the
    overridden tests' scores replaced (each such test gets an "override" entry with its
    run points); it is None when pending or when it was not loaded (with_tests=False and
    no override applies).
    """

    student_id: str
    slug: str
    state: State
    submission_id: int
    attempt: int
    sha256: str
    submitted_at: datetime
    due: datetime  # moved by the extensions (submitted_at and due are tz-aware, UTC)
    extension_days: int
    late_factor: float
    after_cutoff: bool
    run_id: int | None = None
    suite_hash: str | None = None
    run_score: float | None = None
    score: float | None = None
    max_score: float | None = None
    overrides: tuple[AppliedOverride, ...] = ()
    result: Mapping[str, Any] | None = None

    @property
    def graded(self) -> bool:
        """Whether the counted attempt has a graded run."""
        return self.state == GRADED

    @property
    def tests(self) -> tuple[Mapping[str, Any], ...]:
        """The run's tests with the overrides applied (empty when not loaded)."""
        return tuple((self.result or {}).get("tests") or ())

    @property
    def override_delta(self) -> float:
        """Points the overrides add to the run's score (0.0 when pending)."""
        if self.score is None or self.run_score is None:
            return 0.0
        return self.score - self.run_score


def apply_to_tests(tests: Iterable[Mapping[str, Any]], overrides: Mapping[str, float]
                   ) -> tuple[list[dict[str, Any]], tuple[AppliedOverride, ...], float]:
    """(tests with the overrides applied, the applied overrides, the change in points).

    `overrides` maps test names to points; a name the tests do not have is skipped.
    """
    out: list[dict[str, Any]] = []
    applied: list[AppliedOverride] = []
    delta = 0.0
    for test in tests:
        test = dict(test)
        name = test.get("name")
        if name in overrides:
            run_points = float(test.get("score", 0.0) or 0.0)
            maximum = float(test.get("max_score", overrides[name]))
            points = min(max(float(overrides[name]), 0.0), maximum)
            test["score"] = points
            test["override"] = {"run_points": run_points}
            applied.append(AppliedOverride(str(name), points, run_points))
            delta += points - run_points
        out.append(test)
    return out, tuple(applied), delta


# --- queries --------------------------------------------------------------------------

def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def _attempt_frames(session: Session, slug: str | None, student: str | None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the submissions as a policy's attempts frame, the extension rows)."""
    subs = select(Submission.student_id, Submission.slug, Submission.submitted_at,
                  Submission.id, Submission.attempt, Submission.sha256).order_by(Submission.id)
    ext = select(Extension.student_id, Extension.slug, Extension.days)
    if slug is not None:
        subs, ext = subs.where(Submission.slug == slug), ext.where(Extension.slug == slug)
    if student is not None:
        subs = subs.where(Submission.student_id == student)
        ext = ext.where(Extension.student_id == student)
    rows = [(sid, m, pd.Timestamp(_utc(t)), float("nan"), sub_id, attempt, sha)
            for sid, m, t, sub_id, attempt, sha in session.execute(subs)]
    attempts = pd.DataFrame(rows, columns=list(POLICY_COLUMNS))
    if attempts.empty:
        attempts["submitted_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    extensions = pd.DataFrame(session.execute(ext).all(), columns=["student_id", "slug", "days"])
    return attempts, extensions


def _newest_runs(session: Session, slug: str | None, wanted: set[tuple[str, str]]
                 ) -> dict[tuple[str, str], tuple[int, str, float, float]]:
    """(slug, sha256) -> (id, suite_hash, score, max_score) of its newest graded run."""
    query = select(GradingRun.slug, GradingRun.sha256, GradingRun.created_at, GradingRun.id,
                   GradingRun.suite_hash, GradingRun.score, GradingRun.max_score
                   ).where(GradingRun.status == GRADED)
    if slug is not None:
        query = query.where(GradingRun.slug == slug)
    shas = {sha for _, sha in wanted}
    if len(shas) <= _IN_CHUNK:  # one student's page: read only those notebooks' runs
        query = query.where(GradingRun.sha256.in_(shas))
    newest: dict[tuple[str, str], tuple[int, str, float, float]] = {}
    rows = [r for r in session.execute(query) if (r[0], r[1]) in wanted]
    for m, sha, _created, run_id, suite, score, maximum in sorted(
            rows, key=lambda r: (_utc(r[2]), r[3])):
        newest[(m, sha)] = (run_id, suite, float(score), float(maximum))
    return newest


def _newest_overrides(session: Session, slug: str | None, student: str | None
                      ) -> dict[tuple[str, str], dict[str, float]]:
    """(student_id, slug) -> {test name: points of its newest override}."""
    query = select(Override.student_id, Override.slug, Override.test_name, Override.points
                   ).order_by(Override.id)
    if slug is not None:
        query = query.where(Override.slug == slug)
    if student is not None:
        query = query.where(Override.student_id == student)
    out: dict[tuple[str, str], dict[str, float]] = {}
    for sid, m, test, points in session.execute(query):
        out.setdefault((sid, m), {})[test] = float(points)
    return out


def _results(session: Session, run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Run id -> results.json, for the given runs."""
    ids = sorted(set(run_ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        for run_id, doc in session.execute(select(GradingRun.id, GradingRun.result)
                                           .where(GradingRun.id.in_(chunk))):
            out[run_id] = doc or {}
    return out


def counted_results(course: Course, engine: Engine, slug: str | None = None, *,
                    student: str | None = None, policy: AttemptPolicy | None = None,
                    with_tests: bool = True) -> dict[tuple[str, str], CountedResult]:
    """(student_id, slug) -> the result that counts, for every pair with a submission.

    `slug` and `student` narrow the query to one module and/or one student; modules that
    are not in the course config are left out. Keys are sorted. With `with_tests=False`
    the results.json of a run is loaded only where an override applies to it (the
    scores are complete either way).
    """
    with Session(engine) as session:
        attempts, extensions = _attempt_frames(session, slug, student)
        if attempts.empty:
            return {}
        counted = (policy or policy_for(course, session)).choose(course, attempts, extensions)
        wanted = set(zip(counted["slug"], counted["sha256"]))
        runs = _newest_runs(session, slug, wanted)
        overrides = _newest_overrides(session, slug, student)
        chosen = [runs.get((m, sha)) for m, sha in zip(counted["slug"], counted["sha256"])]
        need = [run[0] for run, key in zip(chosen, zip(counted["student_id"], counted["slug"]))
                if run is not None and (with_tests or key in overrides)]
        docs = _results(session, need)

    columns = zip(counted["student_id"], counted["slug"], counted["submission_id"].tolist(),
                  counted["attempt"].tolist(), counted["sha256"],
                  counted["submitted_at"].tolist(), counted["due"].tolist(),
                  counted["days"].tolist(), counted["late_factor"].tolist(),
                  counted["after_cutoff"].tolist())
    out: dict[tuple[str, str], CountedResult] = {}
    for (sid, m, sub_id, attempt, sha, submitted, due, days, factor, late), run in zip(
            columns, chosen):
        key = (sid, m)
        common = dict(student_id=sid, slug=m, submission_id=int(sub_id), attempt=int(attempt),
                      sha256=sha, submitted_at=submitted, due=due, extension_days=int(days),
                      late_factor=float(factor), after_cutoff=bool(late))
        if run is None:
            out[key] = CountedResult(state=PENDING, **common)
            continue
        run_id, suite, score, maximum = run
        doc = copy.deepcopy(docs[run_id]) if run_id in docs else None
        applied: tuple[AppliedOverride, ...] = ()
        delta = 0.0
        if doc is not None:
            tests, applied, delta = apply_to_tests(doc.get("tests") or [],
                                                   overrides.get(key, {}))
            doc["tests"] = tests
        out[key] = CountedResult(state=GRADED, run_id=run_id, suite_hash=suite,
                                 run_score=score, score=score + delta, max_score=maximum,
                                 overrides=applied, result=doc, **common)
    return dict(sorted(out.items()))


def counted_result(course: Course, engine: Engine, student: str, slug: str, *,
                   policy: AttemptPolicy | None = None) -> CountedResult | None:
    """The result that counts for one student's module; None without a submission."""
    return counted_results(course, engine, slug, student=student,
                           policy=policy).get((student, slug))
