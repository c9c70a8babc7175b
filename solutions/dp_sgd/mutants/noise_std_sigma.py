"""Noise of standard deviation sigma instead of sigma * max_norm."""
FAILS = ["test_privatize_noise_scale"]


def privatize(clipped_grads, max_norm, noise_multiplier, expected_batch_size, generator):
    noisy = {}
    for name, g in clipped_grads.items():
        total = g.sum(dim=0)
        noise = noise_multiplier * torch.randn(total.shape, generator=generator)
        noisy[name] = (total + noise) / expected_batch_size
    return noisy
