"""elbo draws its own noise with torch.rand_like (uniform on [0, 1)) when no eps is given."""
FAILS = ["test_elbo_without_eps_matches_its_expectation"]

import torch


def elbo(model, x, eps=None):
    mu, logvar = model.encode(x)
    if eps is None:
        eps = torch.rand_like(mu)  # should be torch.randn_like: standard NORMAL noise
    z = reparameterize(mu, logvar, eps)
    return bernoulli_log_likelihood(model.decode(z), x) - gaussian_kl(mu, logvar)
