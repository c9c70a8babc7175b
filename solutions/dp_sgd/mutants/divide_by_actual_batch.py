"""Dividing the noisy sum by the actual batch size B instead of the expected q N."""
FAILS = ["test_privatize_sum_and_expected_batch_size", "test_privatize_noise_scale"]


def privatize(clipped_grads, max_norm, noise_multiplier, expected_batch_size, generator):
    noisy = {}
    for name, g in clipped_grads.items():
        total = g.sum(dim=0)
        noise = noise_multiplier * max_norm * torch.randn(total.shape, generator=generator)
        noisy[name] = (total + noise) / g.shape[0]
    return noisy
