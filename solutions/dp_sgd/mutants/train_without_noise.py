"""train_dp clips and averages the per-example gradients but never adds the noise."""
FAILS = ["test_train_dp_noise_is_added"]


def train_dp(model, x, y, epochs, sample_rate, max_norm, noise_multiplier, lr, delta, seed):
    generator = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    steps = epochs * round(1 / sample_rate)
    params = dict(model.named_parameters())
    for batch in poisson_batches(n, sample_rate, steps, generator):
        if batch.numel() == 0:
            continue
        grads = clip_per_sample(per_sample_gradients(model, F.cross_entropy, x[batch], y[batch]), max_norm)
        with torch.no_grad():
            for name, p in params.items():
                p -= lr * grads[name].sum(dim=0) / (sample_rate * n)
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    return {"accuracy": accuracy, "epsilon": epsilon(sample_rate, noise_multiplier, steps, delta)}
