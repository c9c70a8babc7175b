"""KL summed over the latent dimensions into a float32 buffer (torch.zeros(B)): float64 inputs give float32."""
FAILS = ["test_float64_inputs_keep_float64"]

import torch


def gaussian_kl(mu, logvar):
    kl = torch.zeros(mu.shape[0])  # float32 whatever the inputs: should be zeros_like / dtype=
    for j in range(mu.shape[-1]):
        kl += 0.5 * (mu[:, j] ** 2 + logvar[:, j].exp() - 1.0 - logvar[:, j])
    return kl
