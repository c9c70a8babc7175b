"""iterative_pinv starts from Z_0 = A^T / ||A||_F^2 instead of A^T / (||A||_1 ||A||_inf)."""
FAILS = ["test_iterative_pinv_follows_the_paper"]

import torch


def iterative_pinv(a, n_iter=6):
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype, device=a.device)
    fro2 = (a * a).sum(dim=(-2, -1))  # (...,) squared Frobenius norm
    z = a.transpose(-2, -1) / fro2[..., None, None]
    for _ in range(n_iter):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z
