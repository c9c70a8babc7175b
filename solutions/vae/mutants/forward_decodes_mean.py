"""VAE.forward decodes the mean mu instead of a sample (reparameterize computed but unused)."""
FAILS = ["test_vae_encode_decode_forward"]


class VAE(VAE):  # the reference VAE, with forward replaced
    def forward(self, x):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)  # noqa: F841 - sampled, then forgotten
        return self.decode(mu), mu, logvar
