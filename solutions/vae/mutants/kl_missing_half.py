"""KL closed form without the factor 1/2."""
FAILS = ["test_gaussian_kl_matches_torch_distributions"]


def gaussian_kl(mu, logvar):
    return (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)  # forgot 0.5
