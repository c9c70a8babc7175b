"""The sandboxed worker's channel: start-up, small calls, a large tensor, per checkout.

For each checkout given (default: this one), in alternating rounds so that the machine's
drift hits all alike, a fresh process starts a sandboxed worker (bubblewrap) on a small
submission and measures: the start and load, 200 calls of a small function, and one
round trip of a 16 MiB float32 tensor. Prints the median and range of each per checkout.

Usage: .venv/bin/python benchmarks/worker_channel.py [--rounds N] [CHECKOUT ...]
(e.g. a `git worktree` of an older commit as a second checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, time
import torch
import autograder.plugin  # noqa: F401 - the import order the engine uses
from autograder.config import SandboxLimits
from autograder.sandbox.policy import SandboxSpec
from autograder.worker.client import Worker

source = ("# %% cell 'a' [student]\nimport torch\n"
          "def small(x):\n    return x + 1\n"
          "def echo(t):\n    return t * 1\n")
worker = Worker(SandboxSpec(kind="bubblewrap", limits=SandboxLimits(), device="cpu"), source)
t0 = time.perf_counter()
worker.request(("ping",), 60)  # starts it and loads the submission, in every version
t1 = time.perf_counter()
module = worker.load_info["module"]
small = worker.request(("getattr", module, "small"), 60)
for i in range(200):
    assert small(i) == i + 1
t2 = time.perf_counter()
echo = worker.request(("getattr", module, "echo"), 60)
big = torch.ones(4 * 2**20)
assert echo(big).shape == big.shape
t3 = time.perf_counter()
getattr(worker, "close", worker.stop)()
print(json.dumps({"start_ms": (t1 - t0) * 1e3, "call_us": (t2 - t1) / 200 * 1e6,
                  "tensor_16mb_ms": (t3 - t2) * 1e3}))
"""


def measure(checkout: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=checkout,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"{checkout}: the probe failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[REPO])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    runs: dict[Path, list[dict[str, float]]] = {c: [] for c in args.checkouts}
    for round_ in range(args.rounds):
        for checkout in args.checkouts:
            runs[checkout].append(measure(checkout.resolve()))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    table = Table(title=f"sandboxed worker channel, {args.rounds} alternating rounds")
    table.add_column("checkout")
    for key in ("start_ms", "call_us", "tensor_16mb_ms"):
        table.add_column(f"{key} median (range)")
    for checkout, results in runs.items():
        cells = []
        for key in ("start_ms", "call_us", "tensor_16mb_ms"):
            values = [r[key] for r in results]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})")
        table.add_row(str(checkout), *cells)
    Console().print(table)


if __name__ == "__main__":
    main()
