"""reparameterize samples with torch.normal(mu, std) when no eps is given: right distribution, but no gradient to mu, logvar."""
FAILS = ["test_reparameterize_gradient"]

import torch


def reparameterize(mu, logvar, eps=None):
    std = torch.exp(0.5 * logvar)
    if eps is None:
        return torch.normal(mu, std)  # autograd gives zero gradient here
    return mu + std * eps
