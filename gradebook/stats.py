"""Statistics of one module for staff: per-test pass rates, score distribution, plots.

Every number comes from the graded results that count (`gradebook.results`: the counted
attempt's graded run with the overrides applied, as the feedback pages show it), hidden
tests included; students whose counted attempt is still pending are not in the numbers.
Plots are PNGs drawn with matplotlib's Agg canvas (no display, no global pyplot state);
matplotlib is imported only when plots are written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from autograder.config import Course
from autograder.core.errors import UserError
from gradebook.results import AttemptPolicy, counted_results

PER_TEST_COLUMNS = ["test", "pass_rate", "mean_points", "max_points"]


def per_test_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Pass rate (0..1), mean points and max points of every test in some results.

    Tests are listed in the order they first appear; a test missing from a result (an
    older suite) is averaged over the results that have it.
    """
    rows = [(t.get("name", ""), t.get("status") == "passed", float(t.get("score") or 0.0),
             float(t.get("max_score") or 0.0))
            for doc in results for t in (doc.get("tests") or [])]
    if not rows:
        return pd.DataFrame({"test": pd.Series(dtype=object), "pass_rate": pd.Series(dtype=float),
                             "mean_points": pd.Series(dtype=float),
                             "max_points": pd.Series(dtype=float)})
    frame = pd.DataFrame(rows, columns=["test", "passed", "points", "max"])
    grouped = frame.groupby("test", sort=False)
    out = pd.DataFrame({"pass_rate": grouped["passed"].mean().astype(float),
                        "mean_points": grouped["points"].mean(),
                        "max_points": grouped["max"].max()}).reset_index()
    return out[PER_TEST_COLUMNS]


def module_stats(course: Course, engine: Engine, slug: str,
                 policy: AttemptPolicy | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """(per-test frame [test, pass_rate, mean_points, max_points], scores by student id)."""
    graded = {sid: r for (sid, _), r in counted_results(course, engine, slug,
                                                         policy=policy).items() if r.graded}
    per_test = per_test_frame([dict(r.result or {}) for r in graded.values()])
    scores = pd.Series({sid: float(r.score) for sid, r in graded.items()},
                       dtype=float, name="score")
    scores.index.name = "student_id"
    return per_test, scores


def score_summary(scores: pd.Series) -> dict[str, float]:
    """count, mean, std, min, quartiles, max of the scores (NaN when there are none)."""
    desc = scores.astype(float).describe()
    return {k: float(desc.get(k, np.nan)) for k in ("count", "mean", "std", "min", "25%", "50%",
                                                    "75%", "max")}


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserError("plots need matplotlib: pip install matplotlib") from None
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def write_plots(course: Course, engine: Engine, slug: str, out_dir: Path) -> list[Path]:
    """Write the module's score histogram and pass rates, and the final-grade distribution.

    Files: `<slug>_scores.png`, `<slug>_pass_rates.png` (only when the module has graded
    results) and `final_grades.png` (when the roster is not empty). Returns their paths.
    """
    from gradebook.aggregate import final_grades
    from gradebook.frames import load_frames

    spec = course.module(slug)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_test, scores = module_stats(course, engine, slug)
    written: list[Path] = []

    if not scores.empty:
        fig = _figure(7, 4)
        ax = fig.add_subplot()
        top = max(float(scores.max()), float(spec.autograded_points), 1.0)
        bins = np.linspace(0, top, min(20, max(5, int(np.ceil(top)))) + 1)
        ax.hist(scores.to_numpy(), bins=bins, color="#4477aa", edgecolor="white")
        ax.axvline(float(scores.mean()), color="#cc3311", linestyle="--",
                   label=f"mean {scores.mean():.2f}")
        ax.set_xlabel("autograded points")
        ax.set_ylabel("students")
        ax.set_title(f"{spec.title}: scores (n = {len(scores)})")
        ax.legend()
        written.append(_save(fig, out_dir / f"{slug}_scores.png"))

    if not per_test.empty:
        fig = _figure(7, max(2.5, 0.4 * len(per_test) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(per_test))
        rates = 100 * per_test["pass_rate"].to_numpy()
        ax.barh(y, rates, color="#228833")
        ax.set_yticks(y, labels=list(per_test["test"]))
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("passed (% of students)")
        ax.set_title(f"{spec.title}: pass rate per test")
        for yi, rate in zip(y, rates):
            ax.text(min(rate + 1, 90), yi, f"{rate:.0f}%", va="center", fontsize=8)
        written.append(_save(fig, out_dir / f"{slug}_pass_rates.png"))

    attempts, manual, extensions, students = load_frames(engine, course)
    if students:
        grades = final_grades(course, attempts, manual, extensions, students)
        has_grade = grades["grade"].notna().any()
        fig = _figure(11 if has_grade else 7, 4)
        ax = fig.add_subplot(1, 2 if has_grade else 1, 1)
        ax.hist(grades["final"].to_numpy(dtype=float), bins=np.linspace(0, 100, 21),
                color="#4477aa", edgecolor="white")
        ax.set_xlabel("final score (%)")
        ax.set_ylabel("students")
        ax.set_title(f"final scores (n = {len(grades)})")
        if has_grade:
            scale = course.grade_scales[0]
            labels = list(dict.fromkeys(label for _, label in reversed(scale.bands)))
            counts = grades["grade"].value_counts().reindex(labels, fill_value=0)
            ax2 = fig.add_subplot(1, 2, 2)
            ax2.bar(range(len(labels)), counts.to_numpy(), color="#aa3377")
            ax2.set_xticks(range(len(labels)), labels=labels)
            ax2.set_xlabel(f"grade ({scale.name})")
            ax2.set_ylabel("students")
            ax2.set_title("grade distribution")
        written.append(_save(fig, out_dir / "final_grades.png"))
    return written
