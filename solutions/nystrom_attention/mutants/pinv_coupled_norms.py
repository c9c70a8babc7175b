"""iterative_pinv takes the norms of Z_0 as maxima over the whole batch (the official code's shortcut)."""
FAILS = ["test_iterative_pinv_per_matrix", "test_iterative_pinv_follows_the_paper"]

import torch


def iterative_pinv(a, n_iter=6):
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype, device=a.device)
    # one scalar for the whole tensor: couples examples and heads
    z = a.transpose(-2, -1) / (a.abs().sum(dim=-2).max() * a.abs().sum(dim=-1).max())
    for _ in range(n_iter):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z
