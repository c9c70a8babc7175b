"""IWAE's log q(z|x) evaluated as a standard normal density of eps: the -log sigma term is missing."""
FAILS = ["test_iwae_matches_monte_carlo", "test_iwae_bound_ordering"]

import math

import torch


def iwae_bound(model, x, k):
    mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((k,) + tuple(mu.shape))
    z = mu + std * eps  # (k, B, z_dim)
    log_px_z = bernoulli_log_likelihood(model.decode(z), x)
    log_norm = 0.5 * math.log(2 * math.pi)
    log_pz = (-0.5 * z.pow(2) - log_norm).sum(-1)
    log_qz = (-0.5 * eps.pow(2) - log_norm).sum(-1)  # forgot -0.5 * logvar (the Jacobian)
    return torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k)
