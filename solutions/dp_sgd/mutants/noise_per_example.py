"""Noise added to every example's gradient before the sum (variance B times too large)."""
FAILS = ["test_privatize_noise_scale", "test_privatize_sum_and_expected_batch_size"]


def privatize(clipped_grads, max_norm, noise_multiplier, expected_batch_size, generator):
    noisy = {}
    for name, g in clipped_grads.items():
        noise = noise_multiplier * max_norm * torch.randn(g.shape, generator=generator)  # (B, ...)
        noisy[name] = (g + noise).sum(dim=0) / expected_batch_size
    return noisy
