"""KL with the sign flipped (-0.5 * sum(...)), as if copying the 'maximise -KL' term of the ELBO."""
FAILS = [
    "test_gaussian_kl_matches_torch_distributions",
    "test_gaussian_kl_sums_over_latent_dims",
]


def gaussian_kl(mu, logvar):
    return -0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)  # sign flipped
