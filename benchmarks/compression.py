"""Compression benchmark of the arithmetic_coder module's reference solution, one table.

The reference (`compress`, `decompress`, `AdaptiveModel`, `empirical_entropy` of the
master notebook) is loaded through the grader's own extraction and loader, so this file
holds no copy of it. Sources, all offline: Python's help topics (`pydoc_data.topics`),
the first bytes of the standard library's Lib/*.py, a synthetic order-2 Markov source
over 8 symbols whose entropy rate is computed exactly (stationary distribution of the
pair chain), and random bytes. For each: empirical entropy of orders 0-3, our coder at
orders 0-3 (header included), zlib -9, bz2 -9, lzma -6, all in bits per byte, and the
coder's throughput. Targets checked: the coder within 0.1% of its model's ideal adaptive
code length -log2 Q(x) on every source and order; within 1% of the entropy rate on the
Markov source at order 2, with the coder's models over the source's 8-symbol alphabet
(`compress` itself, whose models have 256 symbols, is reported beside it).

Usage: .venv/bin/python benchmarks/compression.py [--size 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import bz2
import json
import lzma
import math
import random
import sys
import sysconfig
import tempfile
import time
import types
import zlib
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course_loader import load_course  # noqa: E402
from autograder.layout import module_layout  # noqa: E402
from autograder.core.loader import load_blocks  # noqa: E402
from autograder.validate import reference_source_of  # noqa: E402

ORDERS = (0, 1, 2, 3)
MARKOV_SYMBOLS = b"abcdefgh"


def load_reference() -> types.ModuleType:
    """The master notebook's solution, extracted and loaded as the grader does."""
    course = load_course(REPO / "course_config.py")
    source = reference_source_of(module_layout(course, "arithmetic_coder"))
    path = Path(tempfile.mkdtemp(prefix="arithmetic-coder-reference-")) / "reference.py"
    path.write_text(source, encoding="utf-8")
    loaded = load_blocks(path, "arithmetic_coder_reference")
    if loaded.errors:
        raise SystemExit(f"the reference did not load: {loaded.errors}")
    return loaded.module


def markov_source(size: int, seed: int) -> tuple[bytes, float]:
    """An order-2 Markov source over 8 symbols and its exact entropy rate (bits/symbol).

    Transition rows P(. | a, b) are Dirichlet(0.5) draws. The pair (a, b) is itself a
    Markov chain; its stationary distribution pi gives the rate sum pi(a,b) H(P(.|a,b)).
    """
    rng = random.Random(seed)
    k = len(MARKOV_SYMBOLS)
    rows = []
    for _ in range(k * k):
        g = [rng.gammavariate(0.5, 1.0) + 1e-3 for _ in range(k)]
        rows.append([x / sum(g) for x in g])
    pair = np.zeros((k * k, k * k))  # (a, b) -> (b, c) with probability P(c | a, b)
    for a in range(k):
        for b in range(k):
            for c in range(k):
                pair[a * k + b, b * k + c] = rows[a * k + b][c]
    values, vectors = np.linalg.eig(pair.T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    pi = pi / pi.sum()
    rate = float(sum(pi[s] * -sum(p * math.log2(p) for p in rows[s]) for s in range(k * k)))
    cumulative = [list(np.cumsum(row)) for row in rows]
    out, a, b = bytearray(), 0, 0
    for _ in range(size):
        c = min(np.searchsorted(cumulative[a * k + b], rng.random(), side="right"), k - 1)
        out.append(MARKOV_SYMBOLS[c])
        a, b = b, int(c)
    return bytes(out), rate


def stdlib_source(size: int) -> bytes:
    """The first `size` bytes of the standard library's Lib/*.py, in sorted order."""
    out = bytearray()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        out += path.read_bytes()
        if len(out) >= size:
            break
    return bytes(out[:size])


def ideal_bits(ref: types.ModuleType, data: bytes, order: int) -> float:
    """-log2 Q(data) of the adaptive order-k model compress uses (same zero padding)."""
    padded, models, bits = bytes(order) + data, {}, 0.0
    for i, symbol in enumerate(data):
        context = padded[i:i + order]
        model = models.get(context)
        if model is None:
            model = models[context] = ref.AdaptiveModel(256)
        low, high, total = model.interval(symbol)
        bits += math.log2(total / (high - low))
        model.update(symbol)
    return bits


def alphabet_code(ref: types.ModuleType, data: bytes, order: int) -> tuple[int, float]:
    """Our coder with the source's own alphabet: one `AdaptiveModel(len(alphabet))` per
    order-k context of symbol indices, the reference's encoder and decoder. What a tool
    that estimates a source's compressibility does when the alphabet is known to be small
    (`compress` must serve any bytes, so its models have 256 symbols and pay to learn that
    most never occur). Returns (bytes with a header of the 32-byte alphabet bitmap, the
    length and the order; -log2 Q(data) of the models in bits); checks the round trip."""
    alphabet = sorted(set(data))
    index = {byte: i for i, byte in enumerate(alphabet)}
    symbols = [index[b] for b in data]
    padded = [0] * order + symbols
    encoder, models, ideal = ref.ArithmeticEncoder(), {}, 0.0
    for i, symbol in enumerate(symbols):
        context = tuple(padded[i:i + order])
        model = models.get(context) or models.setdefault(context, ref.AdaptiveModel(len(alphabet)))
        low, high, total = model.interval(symbol)
        encoder.encode(low, high, total)
        ideal += math.log2(total / (high - low))
        model.update(symbol)
    body = encoder.finish()
    decoder, models, out = ref.ArithmeticDecoder(body), {}, [0] * order
    for i in range(len(symbols)):
        context = tuple(out[i:i + order])
        model = models.get(context) or models.setdefault(context, ref.AdaptiveModel(len(alphabet)))
        total = model.interval(0)[2]
        symbol, low, high = model.find(decoder.target(total))
        decoder.consume(low, high, total)
        model.update(symbol)
        out.append(symbol)
    assert out[order:] == symbols, f"alphabet coder: round trip failed at order {order}"
    header = 32 + 8 + 1  # alphabet bitmap, length, order
    return header + len(body), ideal


def measure(ref: types.ModuleType, name: str, data: bytes) -> dict:
    """Every number of one table row, plus the coder's overheads and throughput."""
    n = len(data)
    row: dict = {"source": name, "bytes": n}
    row["H"] = [ref.empirical_entropy(data, k) for k in ORDERS]
    row["ours"], row["ideal"], row["overhead_pct"] = [], [], []
    seconds = {"compress": 0.0, "decompress": 0.0}
    for k in ORDERS:
        start = time.perf_counter()
        blob = ref.compress(data, k)
        middle = time.perf_counter()
        assert ref.decompress(blob) == data, f"{name}: round trip failed at order {k}"
        seconds["compress"] += middle - start
        seconds["decompress"] += time.perf_counter() - middle
        ideal = ideal_bits(ref, data, k)
        row["ours"].append(8 * len(blob) / n)
        row["ideal"].append(ideal / n)
        row["overhead_pct"].append(100 * (8 * len(blob) / ideal - 1))
    row["alphabet"], row["alphabet_overhead_pct"] = [], []
    for k in ORDERS:
        size, ideal = alphabet_code(ref, data, k)
        row["alphabet"].append(8 * size / n)
        row["alphabet_overhead_pct"].append(100 * (8 * size / ideal - 1))
    row["zlib"] = 8 * len(zlib.compress(data, 9)) / n
    row["bz2"] = 8 * len(bz2.compress(data, 9)) / n
    row["lzma"] = 8 * len(lzma.compress(data, preset=6)) / n
    row["kb_s"] = {key: len(ORDERS) * n / 1e3 / s for key, s in seconds.items()}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes per source (at most)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    console = Console(width=170)
    ref = load_reference()
    markov, rate = markov_source(args.size, args.seed)
    sources = {
        "pydoc topics": ref.load_corpus()[:args.size],
        "stdlib Lib/*.py": stdlib_source(args.size),
        "order-2 Markov, 8 symbols": markov,
        "random bytes": random.Random(args.seed).randbytes(args.size),
    }
    rows = []
    for name, data in sources.items():
        console.print(f"[dim]{name}: {len(data):,} bytes ...[/dim]")
        rows.append(measure(ref, name, data))

    table = Table(title=f"bits per byte (header included); entropy H_k and our coder at order k; "
                        f"KB/s = our compress / decompress, averaged over orders {ORDERS[0]}-{ORDERS[-1]}")
    for col in ["source", "bytes", *(f"H_{k}" for k in ORDERS), *(f"ours_{k}" for k in ORDERS),
                "zlib -9", "bz2 -9", "lzma -6", "KB/s"]:
        table.add_column(col, justify="left" if col == "source" else "right")
    for row in rows:
        table.add_row(row["source"], f"{row['bytes']:,}", *(f"{h:.3f}" for h in row["H"]),
                      *(f"{r:.3f}" for r in row["ours"]), f"{row['zlib']:.3f}",
                      f"{row['bz2']:.3f}", f"{row['lzma']:.3f}",
                      f"{row['kb_s']['compress']:.0f} / {row['kb_s']['decompress']:.0f}")
    console.print(table)
    small = Table(title="our coder with each source's own alphabet (AdaptiveModel(|alphabet|) "
                        "per context, header included), bits per byte")
    for col in ["source", "alphabet", *(f"ours_{k}" for k in ORDERS)]:
        small.add_column(col, justify="left" if col == "source" else "right")
    for row, data in zip(rows, sources.values()):
        small.add_row(row["source"], str(len(set(data))), *(f"{r:.4f}" for r in row["alphabet"]))
    console.print(small)

    worst = max(max(row["overhead_pct"] + row["alphabet_overhead_pct"]) for row in rows)
    markov_row = next(row for row in rows if row["source"].startswith("order-2 Markov"))
    gap = 100 * (markov_row["alphabet"][2] / rate - 1)
    byte_gap = 100 * (markov_row["ours"][2] / rate - 1)
    console.print(f"coder vs its model's ideal code length -log2 Q(x): worst overhead {worst:+.4f}% "
                  f"over all sources and orders (target 0.1%): {'met' if worst <= 0.1 else 'NOT met'}")
    console.print(f"Markov source: entropy rate {rate:.4f} bits/symbol; our coder at order 2 over "
                  f"its 8-symbol alphabet {markov_row['alphabet'][2]:.4f} ({gap:+.2f}%; target 1%): "
                  f"{'met' if abs(gap) <= 1 else 'NOT met'}. `compress` (256-symbol byte models) "
                  f"{markov_row['ours'][2]:.4f} ({byte_gap:+.2f}%): exact against its model's "
                  f"-log2 Q(x) / n = {markov_row['ideal'][2]:.4f}; the rest is the cost of "
                  f"learning that 248 of 256 symbols never occur in each of 64 contexts. "
                  f"H_2 = {markov_row['H'][2]:.4f}")
    print(json.dumps({"rows": rows, "markov_rate": rate}))


if __name__ == "__main__":
    main()
