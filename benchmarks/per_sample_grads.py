"""Per-sample gradients: the dp_sgd reference (torch.func: vmap of grad) vs. a per-example loop.

Models on digits-sized inputs (8 x 8 pixels, 10 classes): a small MLP (64-128-128-10)
and a small CNN (two 3x3 convolutions, a max-pool, a linear head). For each model and
batch size, the median wall time of one call of the reference's `per_sample_gradients`
(loaded from the master notebook through the grader's own extraction and loader, not
copied) and of a loop of one forward/backward pass per example; the target is a
speed-up of at least 10x. The reference is timed as written (eager) and under
`torch.compile` (the same function, compiled once per model and batch shape; the compile
time is printed, not counted). Runs on one intra-op thread by default (--threads) so the
numbers do not depend on how many cores happen to be free; --device cuda times it on a GPU.

Usage: .venv/bin/python benchmarks/per_sample_grads.py [--repeats 20] [--batch-sizes 64 256]
       [--threads 1] [--device cpu|cuda] [--no-compile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from autograder.layout import module_layout  # noqa: E402
from autograder.core.loader import load_blocks  # noqa: E402
from autograder.validate import reference_source_of  # noqa: E402

TARGET_SPEEDUP = 10.0


def reference_per_sample_gradients() -> Callable:
    """`per_sample_gradients` of the dp_sgd master notebook, as the grader builds it."""
    course = load_course(REPO / "course_config.py")
    source = reference_source_of(module_layout(course, "dp_sgd"))
    folder = Path(tempfile.mkdtemp(prefix="dp-sgd-reference-"))
    path = folder / "reference.py"
    path.write_text(source, encoding="utf-8")
    loaded = load_blocks(path, "dp_sgd_reference")
    if loaded.errors:
        raise SystemExit(f"the dp_sgd reference failed to load: {loaded.errors}")
    return loaded.module.per_sample_gradients


def loop_per_sample_gradients(model: nn.Module, loss_fn: Callable, x: torch.Tensor,
                              y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The obvious way: one forward and backward pass per example."""
    params = dict(model.named_parameters())
    grads: dict[str, list[torch.Tensor]] = {name: [] for name in params}
    for i in range(x.shape[0]):
        loss = loss_fn(model(x[i:i + 1]), y[i:i + 1])
        for name, g in zip(params, torch.autograd.grad(loss, list(params.values()))):
            grads[name].append(g)
    return {name: torch.stack(g) for name, g in grads.items()}  # name -> (B, *shape)


def batch_step(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor) -> None:
    """One ordinary batched forward and backward pass: work every per-sample method must
    at least do (it computes the same activations and backpropagated errors)."""
    model.zero_grad()
    loss_fn(model(x), y).backward()


def models() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    """name -> (model, input shape of one example)."""
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
    return {"MLP 64-128-128-10": (mlp, (64,)), "CNN 2 conv + linear": (cnn, (1, 8, 8))}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (the first vmap call traces)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads (default 1: the comparison is per core)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # exact checks
    vectorised = reference_per_sample_gradients()
    compiled = None if args.no_compile else torch.compile(vectorised)
    rows = []
    for name, (model, shape) in models().items():
        model = model.to(device)
        n_params = sum(p.numel() for p in model.parameters())
        for batch in args.batch_sizes:
            x = torch.randn(batch, *shape, device=device)
            y = torch.randint(0, 10, (batch,), device=device)
            fast = vectorised(model, F.cross_entropy, x, y)
            slow = loop_per_sample_gradients(model, F.cross_entropy, x, y)
            assert all(torch.allclose(fast[k], slow[k], atol=1e-5) for k in slow), name
            t_vec = median_seconds(lambda: vectorised(model, F.cross_entropy, x, y), args.repeats)
            t_loop = median_seconds(lambda: loop_per_sample_gradients(model, F.cross_entropy, x, y),
                                    max(3, args.repeats // 4))
            t_comp = compile_s = float("nan")
            if compiled is not None:
                start = time.perf_counter()
                fused = compiled(model, F.cross_entropy, x, y)
                compile_s = time.perf_counter() - start
                assert all(torch.allclose(fused[k], slow[k], atol=1e-5) for k in slow), name
                t_comp = median_seconds(lambda: compiled(model, F.cross_entropy, x, y), args.repeats)
            t_step = median_seconds(lambda: batch_step(model, F.cross_entropy, x, y), args.repeats)
            rows.append((name, n_params, batch, t_vec, t_comp, t_loop, t_loop / t_vec,
                         t_loop / t_comp, compile_s, t_step, t_loop / t_step))
    console = Console(width=160)
    where = f"{args.threads} thread(s)" if args.device == "cpu" else torch.cuda.get_device_name(0)
    table = Table(title=f"per-sample gradients, median wall time ({where}, torch {torch.__version__})")
    for col in ("model", "params", "batch", "vmap ms", "vmap compiled ms", "loop ms",
                "speed-up", "compiled speed-up", "compile s", "batch step ms", "ceiling"):
        table.add_column(col, justify="right")
    for (name, n_params, batch, t_vec, t_comp, t_loop, up, up_comp, compile_s, t_step,
         ceiling) in rows:
        table.add_row(name, f"{n_params:,}", str(batch), f"{t_vec * 1e3:.2f}",
                      f"{t_comp * 1e3:.2f}", f"{t_loop * 1e3:.1f}", f"{up:.1f}x",
                      f"{up_comp:.1f}x", f"{compile_s:.1f}", f"{t_step * 1e3:.2f}",
                      f"{ceiling:.1f}x")
    console.print(table)
    for label, col in (("eager", 6), ("compiled", 7)):
        worst = min(r[col] for r in rows)
        if worst == worst:  # not NaN
            console.print(f"target >= {TARGET_SPEEDUP:g}x, {label}: "
                          f"{'met' if worst >= TARGET_SPEEDUP else 'NOT met'} "
                          f"(smallest speed-up {worst:.1f}x)")
    console.print("ceiling = loop / one batched forward+backward pass: no per-sample method "
                  "does less work than that pass, so no speed-up above it is possible here")
    print(json.dumps([dict(zip(("model", "params", "batch", "vmap_s", "compiled_s", "loop_s",
                                "speedup", "compiled_speedup", "compile_s", "step_s", "ceiling"),
                               r)) for r in rows]))


if __name__ == "__main__":
    main()
