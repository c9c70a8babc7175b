"""Fixed-size batches (a random subset of round(q N) examples) instead of Poisson sampling."""
FAILS = ["test_poisson_batches"]


def poisson_batches(n, sample_rate, steps, generator):
    size = max(1, round(sample_rate * n))
    return [torch.randperm(n, generator=generator)[:size] for _ in range(steps)]
