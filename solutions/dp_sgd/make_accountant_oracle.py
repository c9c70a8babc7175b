"""Precompute the accountant oracle of the `dp_sgd` hidden suite with Opacus.

The suite compares students' privacy accounting with Opacus' RDP accountant
(`opacus.accountants.analysis.rdp`, the formulas of Mironov, Talwar & Zhang 2019 and the
conversion of Balle et al. 2020). Grading must not need Opacus, so this script writes
every value the suite needs into `accountant_oracle.json` next to it:

- `rdp`: RDP of one step of the sampled Gaussian mechanism at integer and at fractional
  orders, for a grid of (q, sigma);
- `epsilon`: epsilon for a grid of (q, sigma, steps, delta), with Opacus' default orders
  or with given ones;
- `noise_multiplier`: for a grid of (target epsilon, delta, q, steps), the exact sigma*
  (bisection to 1e-10) at which Opacus' epsilon equals the target; the suite checks a
  student's sigma against it (epsilon decreases in sigma, so epsilon(s) <= target iff
  s >= sigma*);
- `train_dp`: the runs the suite makes `train_dp` do, with their epsilon.

Run it with the project's venv after changing a grid (opacus is a test-only extra):
    .venv/bin/python solutions/dp_sgd/make_accountant_oracle.py
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from opacus import __version__ as opacus_version
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as analysis

OUT = Path(__file__).with_name("accountant_oracle.json")
DEFAULT_ORDERS = RDPAccountant.DEFAULT_ALPHAS  # 1.1, ..., 10.9, 12, ..., 63

RDP_GRID = [(0.001, 0.8), (0.01, 1.0), (0.045, 1.1), (0.1, 0.7), (0.3, 2.0), (0.5, 4.0),
            (1.0, 1.5)]
INTEGER_ORDERS = [2, 3, 4, 8, 16, 32, 63]
FRACTIONAL_ORDERS = [1.1, 1.5, 2.25, 3.7, 7.5, 10.9]

EPSILON_GRID = [  # (q, sigma, steps, delta, orders or None for the defaults)
    (0.01, 1.0, 1000, 1e-5, None),
    (0.05, 1.0, 200, 1e-5, None),
    (0.1, 0.8, 50, 1e-6, None),
    (0.001, 2.0, 10000, 1e-5, None),
    (0.02, 0.6, 300, 1e-5, None),
    (0.5, 5.0, 10, 1e-3, None),
    (1.0, 3.0, 5, 1e-5, None),
    (0.05, 1.2, 300, 1e-5, [2, 4, 8, 16, 32, 64]),
    (0.05, 1.2, 300, 1e-5, [1.5, 2.5, 3.5, 5.5]),
]

NOISE_GRID = [  # (target epsilon, delta, q, steps)
    (1.0, 1e-5, 0.01, 1000),
    (3.0, 1e-5, 0.05, 200),
    (8.0, 1e-6, 0.1, 100),
]

TRAIN_RUNS = {  # name -> the arguments the suite passes to train_dp (besides model, x, y)
    "contract": dict(epochs=2, sample_rate=0.1, max_norm=1.0, noise_multiplier=1.5, lr=0.5,
                     delta=1e-5, seed=1),
    "noisy": dict(epochs=5, sample_rate=0.05, max_norm=1.0, noise_multiplier=10.0, lr=1.0,
                  delta=1e-5, seed=2),
    "private": dict(epochs=10, sample_rate=0.05, max_norm=1.0, noise_multiplier=1.0, lr=1.0,
                    delta=1e-5, seed=3),
}


def opacus_epsilon(q: float, sigma: float, steps: int, delta: float, orders=None) -> float:
    orders = DEFAULT_ORDERS if orders is None else orders
    rdp = analysis.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
    eps, _ = analysis.get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
    return float(eps)


def exact_sigma(target: float, delta: float, q: float, steps: int) -> float:
    """sigma* with opacus_epsilon(q, sigma*, steps, delta) == target (bisection)."""
    low, high = 0.05, 50.0
    assert opacus_epsilon(q, low, steps, delta) > target >= opacus_epsilon(q, high, steps, delta)
    while high / low - 1 > 1e-10:
        mid = math.sqrt(low * high)
        if opacus_epsilon(q, mid, steps, delta) <= target:
            high = mid
        else:
            low = mid
    return high


def main() -> None:
    warnings.simplefilter("ignore")  # "optimal order is the largest alpha" and friends
    oracle: dict = {"opacus_version": opacus_version, "default_orders": DEFAULT_ORDERS,
                    "rdp": [], "epsilon": [], "noise_multiplier": [], "train_dp": {}}
    for q, sigma in RDP_GRID:
        for kind, orders in (("integer", INTEGER_ORDERS), ("fractional", FRACTIONAL_ORDERS)):
            rdp = analysis.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=orders)
            oracle["rdp"].append({"q": q, "sigma": sigma, "kind": kind, "orders": orders,
                                  "rdp": [float(r) for r in rdp]})
    for q, sigma, steps, delta, orders in EPSILON_GRID:
        oracle["epsilon"].append({"q": q, "sigma": sigma, "steps": steps, "delta": delta,
                                  "orders": orders,
                                  "epsilon": opacus_epsilon(q, sigma, steps, delta, orders)})
    for target, delta, q, steps in NOISE_GRID:
        oracle["noise_multiplier"].append({"target_epsilon": target, "delta": delta, "q": q,
                                           "steps": steps,
                                           "sigma_star": exact_sigma(target, delta, q, steps)})
    for name, run in TRAIN_RUNS.items():
        steps = run["epochs"] * round(1 / run["sample_rate"])
        oracle["train_dp"][name] = dict(run, steps=steps, epsilon=opacus_epsilon(
            run["sample_rate"], run["noise_multiplier"], steps, run["delta"]))
    OUT.write_text(json.dumps(oracle, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} (opacus {opacus_version})")


if __name__ == "__main__":
    main()
