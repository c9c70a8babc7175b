"""Nyström vs. exact softmax attention as T grows: time and peak memory, one table.

Both functions are the `nystrom_attention` module's reference solution, extracted from the
master notebook (nothing is copied here). One head, batch 1, q, k, v of shape (1, 1, T, d),
d = 64 and m = 64 landmarks by default. For every T:
- time: median wall time of one call over --repeats calls, after a warm-up call;
- memory: the peak resident memory the call adds, measured once in a fresh subprocess per
  (method, T): inputs built, kernels warmed up on a tiny input, the kernel's peak-RSS
  counter (VmHWM) reset through /proc/self/clear_refs, then one call;
- growth: both relative to T = 1024 (exact attention should grow about 4x per doubling of T
  in time and memory, Nyström about 2x).

Targets: Nyström time(8192) / time(1024) <= 12 while exact grows about 64x; Nyström faster
than exact from T = 2048 on.

Usage: .venv/bin/python benchmarks/nystrom_scaling.py [--lengths 512 1024 2048 4096 8192]
       [--dim 64] [--landmarks 64] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from autograder.course_loader import load_course  # noqa: E402
from autograder.layout import module_layout  # noqa: E402
from autograder.core.loader import load_blocks  # noqa: E402
from autograder.validate import reference_source_of  # noqa: E402

SLUG = "nystrom_attention"
METHODS = ("nystrom", "exact")


def load_reference(workdir: Path) -> ModuleType:
    """The master notebook's solution code, extracted and loaded as a module."""
    course = load_course(REPO / "course_config.py")
    path = workdir / "reference.py"
    path.write_text(reference_source_of(module_layout(course, SLUG)), encoding="utf-8")
    loaded = load_blocks(path, "nystrom_reference")
    if loaded.errors:
        raise SystemExit(f"the reference of {SLUG} failed to load: {loaded.errors}")
    return loaded.module


def attention_call(reference: ModuleType, method: str, T: int, d: int, m: int):
    """A zero-argument call of one method on fresh random inputs of length T."""
    q, k, v = (torch.randn(1, 1, T, d) for _ in range(3))
    if method == "nystrom":
        return lambda: reference.nystrom_attention(q, k, v, m)
    return lambda: reference.softmax_attention(q, k, v)


def median_seconds(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_memory_here(method: str, T: int, d: int, m: int, threads: int) -> None:
    """Subprocess side: print the peak RSS (bytes) one call adds above the memory before it."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        reference = load_reference(Path(tmp))
    attention_call(reference, method, 4 * m, d, m)()  # warm up kernels on a tiny input
    call = attention_call(reference, method, T, d, m)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    call()
    print((_status_kib("VmHWM") - before) * 1024)


def peak_bytes(method: str, T: int, args: argparse.Namespace) -> int:
    """Peak memory of one call, measured in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure-memory", method, str(T), "--dim", str(args.dim),
         "--landmarks", str(args.landmarks), "--threads", str(args.threads)],
        capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--landmarks", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--measure-memory", nargs=2, metavar=("METHOD", "T"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_memory:
        method, T = args.measure_memory
        measure_memory_here(method, int(T), args.dim, args.landmarks, args.threads)
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        reference = load_reference(Path(tmp))
    rows = {}  # (method, T) -> (seconds, bytes)
    for T in args.lengths:
        for method in METHODS:
            seconds = median_seconds(attention_call(reference, method, T, args.dim, args.landmarks),
                                     args.repeats)
            rows[method, T] = (seconds, peak_bytes(method, T, args))

    base = 1024 if 1024 in args.lengths else args.lengths[0]
    table = Table(title=f"Nyström (m={args.landmarks}) vs. exact softmax attention, d={args.dim}, "
                        f"batch 1, one head, {args.threads} thread(s); median of {args.repeats}; "
                        f"growth relative to T={base}")
    for col in ("T", "Nyström ms", "exact ms", "exact / Nyström", "Nyström MiB", "exact MiB",
                "Nyström time x", "exact time x", "Nyström mem x", "exact mem x"):
        table.add_column(col, justify="right")
    for T in args.lengths:
        (ns, nb), (es, eb) = rows["nystrom", T], rows["exact", T]
        (ns0, nb0), (es0, eb0) = rows["nystrom", base], rows["exact", base]
        table.add_row(str(T), f"{ns * 1e3:.2f}", f"{es * 1e3:.2f}", f"{es / ns:.2f}",
                      f"{nb / 2**20:.1f}", f"{eb / 2**20:.1f}", f"{ns / ns0:.2f}", f"{es / es0:.2f}",
                      f"{nb / max(nb0, 1):.2f}", f"{eb / max(eb0, 1):.2f}")
    console = Console(width=140)
    console.print(table)

    longest = max(args.lengths)
    if base == 1024 and longest == 8192:
        nys_growth = rows["nystrom", 8192][0] / rows["nystrom", 1024][0]
        exact_growth = rows["exact", 8192][0] / rows["exact", 1024][0]
        console.print(f"target: Nyström time(8192)/time(1024) = {nys_growth:.1f} <= 12: "
                      f"{'met' if nys_growth <= 12 else 'NOT met'} (exact grows {exact_growth:.1f}x)")
    faster = [T for T in args.lengths if T >= 2048]
    ok = all(rows["nystrom", T][0] < rows["exact", T][0] for T in faster)
    console.print(f"target: Nyström faster than exact for every T >= 2048: {'met' if ok else 'NOT met'}")
    print(json.dumps({f"{method}@{T}": {"seconds": s, "peak_bytes": b}
                      for (method, T), (s, b) in rows.items()}))


if __name__ == "__main__":
    main()
