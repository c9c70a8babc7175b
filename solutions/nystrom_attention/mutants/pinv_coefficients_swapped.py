"""iterative_pinv swaps the coefficients 13 and 15: Z <- 1/4 Z (15I - AZ (13I - AZ (7I - AZ)))."""
FAILS = ["test_iterative_pinv_follows_the_paper", "test_iterative_pinv_quality"]

import torch


def iterative_pinv(a, n_iter=6):
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype, device=a.device)
    norm_1 = a.abs().sum(dim=-2).amax(dim=-1)
    norm_inf = a.abs().sum(dim=-1).amax(dim=-1)
    z = a.transpose(-2, -1) / (norm_1 * norm_inf)[..., None, None]
    for _ in range(n_iter):
        az = a @ z
        z = 0.25 * z @ (15 * eye - az @ (13 * eye - az @ (7 * eye - az)))
    return z
