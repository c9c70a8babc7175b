"""reparameterize samples with torch.normal(mu, std): right distribution, but no gradient to mu, logvar."""
FAILS = ["test_gradient_flows_through_sample"]

import torch


def reparameterize(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))  # autograd gives zero gradient here
