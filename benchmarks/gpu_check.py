"""Every module's hidden suite on a CUDA GPU and on the CPU: the GPU check of issue 8.

For each module, graded sandboxed exactly as `course grade` does (a fresh pytest process,
the student's code in a sandboxed worker):

1. the reference (master notebook) with the student's code on the CPU, then on CUDA:
   both must get full marks; the wall time of each is the suite's time on that device;
2. the stub on CUDA: must score zero;
3. every mutant on CUDA (`not slow` tests, a module's mutants in one fork pool batch,
   `--jobs` at once, through `grade_mutants` as `course validate` grades them): each must
   lose points on the tests it names, as `course validate` requires on the CPU;
4. the attack corpus's GPU memory hog graded beside the first module's reference on the
   same GPU: the hog stops at `sandbox.gpu_memory_mb` and the honest grading keeps full
   marks;
5. a batch graded as `course grade` grades it (`ForkPool`: one collection, one forked
   child per submission): reference, stub, reference on the device, with the pool's
   parent never initialising CUDA (a CUDA runtime started before a fork is unusable in
   the children).

On CUDA the worker makes torch's default device the GPU, moves the tensors the suite
passes in there and copies every tensor it returns to the CPU, where the suite computes its
expectations (TF32 off on both sides). Prints one table, the failures with their messages,
and writes the rows as JSON (--json). Exit status 1 when any check fails.

Usage: python benchmarks/gpu_check.py [SLUG ...] [--device cuda] [--jobs 8] [--json FILE]
       (--device cpu runs the same checks without a GPU, to try the script anywhere)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from autograder.course_loader import load_course  # noqa: E402
from autograder.engine import GradeOutcome, run_suite  # noqa: E402
from autograder.request import GradeRequest  # noqa: E402
from autograder.core.errors import GraderError, UserError  # noqa: E402
from autograder.layout import ModuleLayout, module_layout  # noqa: E402
from autograder.mutants import load_mutants  # noqa: E402
from autograder.pool import ForkPool  # noqa: E402
from autograder.validate import base_request, grade_mutants, reference_source_of  # noqa: E402

console = Console()
ARENA = REPO / "tests" / "attacks" / "arena"


@dataclasses.dataclass
class Row:
    module: str
    check: str
    device: str
    ok: bool
    score: str
    seconds: float
    detail: str = ""


def grade(req: GradeRequest) -> tuple[GradeOutcome | None, float, str]:
    """(outcome or None, seconds, error line)."""
    start = time.monotonic()
    try:
        out = run_suite(req)
    except (GraderError, UserError) as exc:
        return None, time.monotonic() - start, str(exc).splitlines()[0]
    return out, time.monotonic() - start, ""


def failures(out: GradeOutcome) -> str:
    """Failed tests with the first line of each message; grader errors."""
    lines = [f"{t['name']}: {(t.get('output') or '').strip().splitlines()[:1]}"
             for t in out.results["tests"] if t["score"] < t["max_score"]]
    lines += [f"grader error: {e}" for e in out.results["extra_data"].get("grader_errors", [])]
    return "; ".join(lines)


def reference_rows(slug: str, base: GradeRequest, devices: list[str]) -> list[Row]:
    rows = []
    for device in devices:
        out, seconds, error = grade(dataclasses.replace(base, device=device))
        if out is None:
            rows.append(Row(slug, "reference full marks", device, False, "-", seconds, error))
            continue
        ran_on = out.results["extra_data"].get("device")
        ok = out.score == out.max_score and ran_on == device
        detail = f"(sandbox: {out.results['extra_data'].get('sandbox')})" if ok else (
            failures(out) or f"ran on {ran_on}, not {device}")
        rows.append(Row(slug, "reference full marks", device, ok,
                        f"{out.score:g}/{out.max_score:g}", seconds, detail))
    return rows


def stub_row(slug: str, base: GradeRequest, stub: Path, device: str) -> list[Row]:
    out, seconds, error = grade(dataclasses.replace(base, submission=stub, device=device))
    if out is None:
        return [Row(slug, "stub scores zero", device, False, "-", seconds, error)]
    passed = [t["name"] for t in out.results["tests"] if t["score"] > 0]
    return [Row(slug, "stub scores zero", device, out.score == 0,
                f"{out.score:g}/{out.max_score:g}", seconds, ", ".join(passed))]


def hog_row(course, slug: str, base: GradeRequest) -> list[Row]:
    """tests/attacks' GPU memory hog graded beside `slug`'s reference on the same GPU: the
    hog must stop at the worker's cap (sandbox.gpu_memory_mb) with CUDA's out-of-memory
    error and the honest grading must keep full marks."""
    arena = ARENA / "solutions" / "arena"
    hog = (REPO / "tests" / "attacks" / "corpus" / "gpu_memory_hog.py").read_text()
    with tempfile.TemporaryDirectory(prefix="gpu-hog-") as tmp:
        notebook = Path(tmp) / "hog.ipynb"
        nb = nbformat.read(arena / "arena.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "attack":
                cell.source = hog
        nbformat.write(nb, notebook)
        hog_req = GradeRequest(suite=[arena / "test_arena.py"], submission=notebook,
                               master=arena / "arena.ipynb", limits=course.sandbox,
                               device="cuda")
        with ThreadPoolExecutor(max_workers=2) as pool:
            hog_job = pool.submit(grade, hog_req)
            honest_job = pool.submit(grade, dataclasses.replace(base, device="cuda"))
            (hog_out, hog_s, hog_err), (honest_out, honest_s, honest_err) = \
                hog_job.result(), honest_job.result()
    rows = []
    if hog_out is None:
        rows.append(Row("gpu hog", "contained at its cap", "cuda", False, "-", hog_s, hog_err))
    else:
        message = " ".join(t.get("output") or "" for t in hog_out.results["tests"])
        ok = hog_out.score == 2 and "out of memory" in message
        rows.append(Row("gpu hog", "contained at its cap", "cuda", ok,
                        f"{hog_out.score:g}/{hog_out.max_score:g}", hog_s,
                        "" if ok else message[:300]))
    honest_ok = honest_out is not None and honest_out.score == honest_out.max_score
    rows.append(Row("gpu hog", f"{slug} beside it keeps full marks", "cuda", honest_ok,
                    f"{honest_out.score:g}/{honest_out.max_score:g}" if honest_out else "-",
                    honest_s, "" if honest_ok else (honest_err or failures(honest_out))))
    return rows


def pool_rows(slug: str, base: GradeRequest, stub: Path, device: str, workers: int) -> list[Row]:
    """reference, stub, reference graded in one `ForkPool` batch on `device`."""
    requests = [dataclasses.replace(base, submission=s, device=device)
                for s in (base.submission, stub, base.submission)]
    start = time.monotonic()
    pool = ForkPool.for_suite(base.suite[0], workers)
    outcomes = pool.grade_all(requests)
    seconds = time.monotonic() - start
    torch = sys.modules.get("torch")
    parent_cuda = bool(torch is not None and torch.cuda.is_initialized())
    got, problems = [], []
    for want_full, out in zip((True, False, True), outcomes):
        if isinstance(out, Exception):
            got.append("-")
            problems.append(str(out).splitlines()[0])
            continue
        got.append(f"{out.score:g}/{out.max_score:g}")
        ran_on = out.results["extra_data"].get("device")
        if ran_on != device:
            problems.append(f"ran on {ran_on}, not {device}")
        if want_full and out.score != out.max_score:
            problems.append(failures(out))
        if not want_full and out.score != 0:
            problems.append("the stub scored")
    if parent_cuda:
        problems.append("the pool's parent initialised CUDA")
    return [Row(slug, "fork pool batch: reference, stub, reference", device, not problems,
                " ".join(got), seconds, "; ".join(problems))]


def mutant_rows(slug: str, layout: ModuleLayout, base: GradeRequest, device: str, workers: int) -> list[Row]:
    """Every mutant of `slug` graded sandboxed on `device` in one fork pool batch (it
    forks: call it before any thread starts here)."""
    mutants = load_mutants(layout.mutants_dir)
    results = grade_mutants(dataclasses.replace(base, device=device), reference_source_of(layout),
                            mutants, "sandboxed", workers)
    return [Row(slug, f"mutant {m.name}", device, ok, detail.split(":", 1)[0], seconds,
                "" if ok else detail) for m, (ok, detail, seconds) in zip(mutants, results)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="modules (default: all with a master)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--jobs", type=int, default=8, help="stubs and mutants graded at once")
    parser.add_argument("--no-mutants", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # ask NVML: CUDA stays uninitialised
        import torch

        if not torch.cuda.is_available():
            console.print("gpu_check: no CUDA GPU here; run it on a GPU machine "
                          "(or pass --device cpu to try the checks on the CPU)")
            return 2
    course = load_course(REPO / "course_config.py")
    slugs = args.slugs or [m.slug for m in course.modules
                           if module_layout(course, m.slug).master.is_file()]
    rows: list[Row] = []
    bases = {slug: base_request(course, module_layout(course, slug)) for slug in slugs}
    devices = ["cpu", "cuda"] if args.device == "cuda" else ["cpu"]
    for slug in slugs:  # one at a time, nothing else running: the suite's time per device
        for row in reference_rows(slug, bases[slug], devices):
            rows.append(row)
            console.print(f"  {slug}: reference on {row.device}: {row.score} "
                          f"in {row.seconds:.1f} s {row.detail}")
    for slug in slugs:  # the fork pool forks: run it before any thread starts here
        layout = module_layout(course, slug)
        for row in pool_rows(slug, bases[slug], layout.stub, args.device, min(3, args.jobs)):
            rows.append(row)
            console.print(f"  {slug}: fork pool batch on {row.device}: {row.score} "
                          f"in {row.seconds:.1f} s {row.detail}")
        if not args.no_mutants:
            mine = mutant_rows(slug, layout, bases[slug], args.device, args.jobs)
            rows.extend(mine)
            console.print(f"  {slug}: mutants on {args.device}: "
                          f"{sum(r.ok for r in mine)}/{len(mine)} caught")
    jobs: list = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        if args.device == "cuda":  # a hog beside an honest grading on the same GPU
            jobs.append(pool.submit(hog_row, course, slugs[0], bases[slugs[0]]))
        for slug in slugs:
            layout = module_layout(course, slug)
            jobs.append(pool.submit(stub_row, slug, bases[slug], layout.stub, args.device))
        for job in jobs:
            rows.extend(job.result())
    if args.device == "cuda":  # only now: the name comes from an initialised CUDA runtime
        console.print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    table = Table(title=f"hidden suites on {args.device}: reference, stub, mutants (sandboxed)")
    for col in ("module", "reference CPU s", f"reference {args.device} s", "stub",
                "mutants caught", "fork pool batch", "checks"):
        table.add_column(col, justify="left" if col == "module" else "right")
    for slug in slugs:
        mine = [r for r in rows if r.module == slug]
        ref = {r.device: r for r in mine if r.check == "reference full marks"}
        stub = next(r for r in mine if r.check == "stub scores zero")
        mutants = [r for r in mine if r.check.startswith("mutant ")]
        batch = next(r for r in mine if r.check.startswith("fork pool"))
        table.add_row(slug, *(f"{ref[d].seconds:.1f}" + ("" if ref[d].ok else " FAIL")
                              if d in ref else "-" for d in ("cpu", args.device)),
                      stub.score + ("" if stub.ok else " FAIL"),
                      f"{sum(r.ok for r in mutants)}/{len(mutants)}",
                      f"{batch.seconds:.1f} s" + ("" if batch.ok else " FAIL"),
                      "ok" if all(r.ok for r in mine) else "FAIL")
    console.print(table)
    for r in rows:
        if r.module == "gpu hog":
            console.print(f"GPU memory hog: {r.check}: {'ok' if r.ok else 'FAIL'} ({r.score}, "
                          f"{r.seconds:.1f} s)")
    failed = [r for r in rows if not r.ok]
    for r in failed:
        console.print(f"FAIL {r.module}: {r.check} on {r.device}: {r.detail}", soft_wrap=True)
    console.print(f"{len(rows) - len(failed)} checks passed, {len(failed)} failed")
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
