"""reparameterize ignores a given eps and always draws its own noise (torch.randn_like)."""
FAILS = ["test_reparameterize_with_given_eps", "test_reparameterize_gradient"]

import torch


def reparameterize(mu, logvar, eps=None):
    std = torch.exp(0.5 * logvar)
    return mu + std * torch.randn_like(std)  # the eps argument is never used
