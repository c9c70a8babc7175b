"""Seed shifts: a learning test run as if the student's code consumed random numbers in
another order (benchmarks/calibrate.py measures how often a correct implementation fails).

Within `shifted_rngs(k)` every random number generator that is seeded draws k extra
numbers right after its seed: `torch.manual_seed`, a `torch.Generator`'s `manual_seed`,
`numpy.random.default_rng`, `numpy.random.seed` and `random.seed`; the global generators
draw k on entry too. Initial weights, dropout masks, minibatch orders and environment
seeds of the test's run all move, the test's own data included, so the measured spread is
at least a student's. Trusted mode only (the plugin applies it to `slow` tests when the
grading request's `seed_shift` is set); a grading for a student never shifts.
"""

from __future__ import annotations

import random
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator
from unittest import mock


@contextmanager
def shifted_rngs(k: int) -> Iterator[None]:
    """Every generator seeded inside the block draws `k` numbers after its seed."""
    if k <= 0:
        yield
        return
    import numpy as np
    import torch

    manual_seed, generator = torch.manual_seed, torch.Generator
    default_rng, np_seed, py_seed = np.random.default_rng, np.random.seed, random.seed

    def torch_manual_seed(seed: int) -> Any:
        out = manual_seed(seed)
        torch.rand(k)
        return out

    class ShiftedGenerator(generator):  # type: ignore[misc, valid-type]
        def manual_seed(self, seed: int) -> Any:
            out = super().manual_seed(seed)
            torch.rand(k, generator=self, device=self.device)
            return out

    def numpy_default_rng(*args: Any, **kwargs: Any) -> Any:
        out = default_rng(*args, **kwargs)
        out.random(k)
        return out

    def numpy_seed(*args: Any, **kwargs: Any) -> None:
        np_seed(*args, **kwargs)
        np.random.random(k)

    def python_seed(*args: Any, **kwargs: Any) -> None:
        py_seed(*args, **kwargs)
        for _ in range(k):
            random.random()

    with ExitStack() as stack:
        for target, name, value in (
                (torch, "manual_seed", torch_manual_seed),
                (torch.random, "manual_seed", torch_manual_seed),
                (torch, "Generator", ShiftedGenerator),
                (np.random, "default_rng", numpy_default_rng),
                (np.random, "seed", numpy_seed),
                (random, "seed", python_seed)):
            stack.enter_context(mock.patch.object(target, name, value))
        torch.rand(k)
        np.random.random(k)
        for _ in range(k):
            random.random()
        yield
