"""elbo adds the KL term instead of subtracting it."""
FAILS = ["test_elbo_matches_monte_carlo", "test_iwae_bound_ordering"]


def elbo(model, x):
    logits, mu, logvar = model(x)
    return bernoulli_log_likelihood(logits, x) + gaussian_kl(mu, logvar)  # wrong sign
