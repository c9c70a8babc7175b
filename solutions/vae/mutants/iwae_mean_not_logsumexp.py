"""IWAE combines the k samples with a mean of log w (the ELBO again) instead of logsumexp - log k."""
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
    log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - log_norm).sum(-1)
    return (log_px_z + log_pz - log_qz).mean(dim=0)  # Jensen the wrong way round
