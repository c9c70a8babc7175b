"""reparameterize returns mu: no sampling at all (an autoencoder with a KL penalty)."""
FAILS = [
    "test_reparameterize_with_given_eps",
    "test_reparameterize_statistics",
    "test_reparameterize_gradient",
]


def reparameterize(mu, logvar, eps=None):
    return mu
