"""iterative_pinv computes the norms from plain sums, without absolute values (fine only for A >= 0)."""
FAILS = ["test_iterative_pinv_follows_the_paper", "test_iterative_pinv_quality"]

import torch


def iterative_pinv(a, n_iter=6):
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype, device=a.device)
    norm_1 = a.sum(dim=-2).amax(dim=-1)  # should be a.abs().sum(...)
    norm_inf = a.sum(dim=-1).amax(dim=-1)
    z = a.transpose(-2, -1) / (norm_1 * norm_inf)[..., None, None]
    for _ in range(n_iter):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z
