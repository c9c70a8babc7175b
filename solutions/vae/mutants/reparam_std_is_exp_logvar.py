"""reparameterize uses std = exp(logvar) (forgets the 1/2: the variance is exp(logvar))."""
FAILS = ["test_reparameterize_statistics"]

import torch


def reparameterize(mu, logvar):
    std = torch.exp(logvar)  # should be exp(0.5 * logvar)
    return mu + std * torch.randn_like(std)
