"""iterative_pinv starts from Z_0 = A / (||A||_1 ||A||_inf): the transpose is forgotten."""
FAILS = ["test_iterative_pinv_follows_the_paper", "test_iterative_pinv_quality"]

import torch


def iterative_pinv(a, n_iter=6):
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype, device=a.device)
    norm_1 = a.abs().sum(dim=-2).amax(dim=-1)
    norm_inf = a.abs().sum(dim=-1).amax(dim=-1)
    z = a / (norm_1 * norm_inf)[..., None, None]  # should be a.transpose(-2, -1)
    for _ in range(n_iter):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z
