"""KL averaged over the latent dimensions (mean(-1)) instead of summed."""
FAILS = [
    "test_gaussian_kl_matches_torch_distributions",
    "test_gaussian_kl_sums_over_latent_dims",
]


def gaussian_kl(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(dim=-1)  # should be sum
