"""Noise drawn from torch's global random state, ignoring the generator argument."""
FAILS = ["test_privatize_uses_generator"]


def privatize(clipped_grads, max_norm, noise_multiplier, expected_batch_size, generator):
    noisy = {}
    for name, g in clipped_grads.items():
        total = g.sum(dim=0)
        noise = noise_multiplier * max_norm * torch.randn(total.shape)
        noisy[name] = (total + noise) / expected_batch_size
    return noisy
