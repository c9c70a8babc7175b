"""decode applies a sigmoid: it returns probabilities, which elbo then treats as logits."""
FAILS = ["test_vae_encode_decode_forward"]

import torch


class VAE(VAE):  # the reference VAE, with decode replaced
    def decode(self, z):
        return torch.sigmoid(self.decoder(z))  # probabilities, not logits
