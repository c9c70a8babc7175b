"""reparameterize returns mu: no sampling at all (an autoencoder with a KL penalty)."""
FAILS = ["test_reparameterize_statistics", "test_vae_encode_decode_forward"]


def reparameterize(mu, logvar):
    return mu
