"""reparameterize draws one noise vector of shape (z_dim,) shared by every example of the batch."""
FAILS = ["test_reparameterize_statistics"]

import torch


def reparameterize(mu, logvar, eps=None):
    std = torch.exp(0.5 * logvar)
    if eps is None:
        eps = torch.randn(mu.shape[-1])  # (z_dim,) broadcast over the batch: not independent
    return mu + std * eps
