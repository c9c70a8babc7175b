"""Calibration of the learning tests: how often does a correct implementation fail them?

A learning test (a `slow` test of a hidden suite) judges one training run against
thresholds with the `threshold` fixture. One fixed seed says little: a correct solution
that consumes random numbers in another order is, in effect, graded on another seed. This
script grades every learning test of every module on two correct implementations, the
master's reference and `tests/modules/<slug>_alternative.py`, once unshifted and once for
each seed shift k = 1..N: every random generator seeded during the test draws k extra
numbers after its seed (autograder/plugin/seed_shift.py), initial weights, dropout,
minibatch orders and environment seeds included. Trusted mode (the reference's own code
in the grading process), one intra-op thread per grading.

Per measured value and implementation it prints the runs, the pass rate, the mean and
standard deviation of the value, the threshold and the margin in standard deviations
((mean - threshold) / std for a lower bound, (threshold - mean) / std for an upper one).
The target: every threshold at least 3 standard deviations from both implementations'
means (exit status 1 otherwise). Results also go to a JSON file for docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/calibrate.py [--shifts 20] [--workers 2]
       [--module SLUG ...] [--json build/calibration.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from autograder.core.errors import GraderError  # noqa: E402
from autograder.engine import run_suite  # noqa: E402
from autograder.layout import module_layout  # noqa: E402
from autograder.plugin.thresholds import Measurement  # noqa: E402
from autograder.request import build_request  # noqa: E402

TARGET_SIGMAS = 3.0


@dataclasses.dataclass(frozen=True)
class Run:
    slug: str
    implementation: str  # "reference" | "alternative"
    shift: int
    submission: Path


def runs_for(course, slug: str, shifts: int) -> list[Run]:
    layout = module_layout(course, slug)
    implementations = {"reference": layout.master,
                       "alternative": REPO / "tests" / "modules" / f"{slug}_alternative.py"}
    return [Run(slug, name, k, path) for name, path in implementations.items()
            for k in range(shifts + 1)]


def has_learning_tests(course, slug: str) -> bool:
    """Does the module's hidden suite have slow tests? (Collected by pytest itself.)"""
    import subprocess

    layout = module_layout(course, slug)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow",
                          "-p", "no:cacheprovider", "-c", "/dev/null",
                          "--rootdir", str(layout.solution_dir), str(layout.hidden_suite)],
                         capture_output=True, text=True, cwd=layout.solution_dir)
    return out.returncode == 0


def grade(course, run: Run) -> dict:
    """One trusted grading of the module's slow tests with seed shift `run.shift`:
    {"tests": {name: passed}, "measurements": [...], "seconds": s}."""
    req = build_request(course, run.slug, run.submission, mode="trusted", marker_expr="slow")
    req = dataclasses.replace(req, seed_shift=run.shift)
    start = time.monotonic()
    try:
        out = run_suite(req)
    except GraderError as exc:
        return {"error": str(exc).splitlines()[0], "tests": {}, "measurements": [],
                "seconds": time.monotonic() - start}
    return {"tests": {t["name"]: t["status"] == "passed" for t in out.results["tests"]},
            "measurements": out.results["extra_data"].get("measurements", []),
            "seconds": time.monotonic() - start}


def summarise(results: list[tuple[Run, dict]]) -> list[dict]:
    """One row per (module, test, measured value, implementation)."""
    groups: dict[tuple, list] = defaultdict(list)
    test_passes: dict[tuple, list[bool]] = defaultdict(list)
    for run, result in results:
        for test, passed in result["tests"].items():
            test_passes[(run.slug, test, run.implementation)].append(passed)
        for m in result["measurements"]:
            groups[(run.slug, m["test"], m["name"], run.implementation)].append(m)
    rows = []
    for (slug, test, name, impl), ms in sorted(groups.items()):
        values = [float(m["value"]) for m in ms]
        finite = [v for v in values if math.isfinite(v)]
        limit, direction = float(ms[0]["limit"]), ms[0]["direction"]
        mean = statistics.fmean(finite) if finite else math.nan
        std = statistics.stdev(finite) if len(finite) > 1 else math.nan
        gap = (mean - limit) if direction == "at_least" else (limit - mean)
        margin = gap / std if std and std > 0 else (math.inf if gap > 0 else -math.inf)
        passes = test_passes[(slug, test, impl)]
        rows.append({"module": slug, "test": test, "measure": name, "implementation": impl,
                     "runs": len(values), "test_pass_rate": sum(passes) / max(1, len(passes)),
                     "value_pass_rate": sum(Measurement(test, name, v, limit, direction).passed
                                            for v in values) / max(1, len(values)),
                     "mean": mean, "std": std, "threshold": limit, "direction": direction,
                     "margin_sigmas": margin})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, default=20, help="seed shifts k = 1..N (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gradings at once (default 2)")
    parser.add_argument("--module", action="append", default=None, help="only this module")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "calibration.json")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as Markdown (for docs/BENCHMARKS.md)")
    args = parser.parse_args()
    course = load_course(REPO / "course_config.py")
    slugs = args.module or [m.slug for m in course.modules
                            if module_layout(course, m.slug).master.is_file()]
    console = Console(stderr=True)
    learning = [slug for slug in slugs if has_learning_tests(course, slug)]
    for slug in sorted(set(slugs) - set(learning)):
        console.print(f"{slug}: no slow tests, nothing to calibrate")
    runs = [run for slug in learning for run in runs_for(course, slug, args.shifts)]
    results: list[tuple[Run, dict]] = []
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for i, (run, result) in enumerate(zip(runs, pool.map(lambda r: grade(course, r), runs)), 1):
            results.append((run, result))
            failed = [t for t, ok in result["tests"].items() if not ok]
            console.print(f"[{i}/{len(runs)}] {run.slug} {run.implementation} k={run.shift}: "
                          f"{result['seconds']:.0f} s"
                          + (f", ERROR {result['error']}" if "error" in result else "")
                          + (f", failed {', '.join(failed)}" if failed else ""))
    rows = summarise(results)
    unjudged = sorted({(run.slug, test) for run, res in results for test in res["tests"]}
                      - {(r["module"], r["test"]) for r in rows})
    if args.markdown:
        print(markdown(rows, args.shifts))
    table = Table(title=f"Learning tests over {args.shifts} seed shifts + the unshifted run")
    for col in ("module", "test", "measure", "impl", "runs", "test pass", "mean", "std",
                "threshold", "margin (σ)"):
        table.add_column(col, justify="right" if col not in ("module", "test", "measure", "impl") else "left")
    for r in rows:
        bound = ">=" if r["direction"] == "at_least" else "<="
        table.add_row(r["module"], r["test"], r["measure"], r["implementation"], str(r["runs"]),
                      f"{r['test_pass_rate']:.0%}", f"{r['mean']:.4g}", f"{r['std']:.3g}",
                      f"{bound} {r['threshold']:g}", f"{r['margin_sigmas']:.1f}")
    if not args.markdown:
        Console(width=200).print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"shifts": args.shifts, "rows": rows,
                                     "errors": [(dataclasses.asdict(run) | {"submission": str(run.submission)}, res["error"])
                                                for run, res in results if "error" in res]},
                                    indent=1, default=str), encoding="utf-8")
    short = [r for r in rows if not r["margin_sigmas"] >= TARGET_SIGMAS]
    if unjudged:
        print("slow tests that recorded no threshold (judge them with the `threshold` "
              "fixture): " + ", ".join(f"{slug}.{test}" for slug, test in unjudged))
    errors = [run for run, res in results if "error" in res]
    print(f"{len(rows)} rows; {len(short)} below {TARGET_SIGMAS:g} standard deviations"
          + (": " + "; ".join(f"{r['module']}.{r['test']}.{r['measure']} ({r['implementation']}, "
                              f"{r['margin_sigmas']:.1f})" for r in short) if short else "")
          + (f"; {len(errors)} grader errors" if errors else ""))
    return 1 if short or errors or unjudged else 0


def markdown(rows: list[dict], shifts: int) -> str:
    lines = [f"| module | test | measured | implementation | runs | test passed | mean | std "
             f"| threshold | margin (σ) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        bound = "≥" if r["direction"] == "at_least" else "≤"
        lines.append(f"| {r['module']} | {r['test']} | {r['measure']} | {r['implementation']} "
                     f"| {r['runs']} | {r['test_pass_rate']:.0%} | {r['mean']:.4g} "
                     f"| {r['std']:.3g} | {bound} {r['threshold']:g} | {r['margin_sigmas']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
