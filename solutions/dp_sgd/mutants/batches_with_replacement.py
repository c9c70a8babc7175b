"""Batches of Binomial size drawn with replacement (an index can appear twice)."""
FAILS = ["test_poisson_batches"]


def poisson_batches(n, sample_rate, steps, generator):
    batches = []
    for _ in range(steps):
        size = int((torch.rand(n, generator=generator) < sample_rate).sum())
        batches.append(torch.randint(0, n, (size,), generator=generator))
    return batches
