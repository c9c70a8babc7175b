"""Public tests of the `vae` module: quick shape and sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite checks
values against torch.distributions, sample statistics, expectations of the bounds over
many samples, and a training run judged on held-out digits.
"""
import math

import pytest
import torch


@pytest.mark.points(0)
def test_public_reparameterize_shape_and_spread(submission):
    mu, logvar = torch.full((2000, 3), 1.5), torch.zeros(2000, 3)
    z = submission.reparameterize(mu, logvar)
    assert z.shape == (2000, 3), "reparameterize must return a tensor of the shape of mu"
    assert abs(z.mean().item() - 1.5) < 0.1, "the samples must be centred on mu"
    assert abs(z.std().item() - 1.0) < 0.1, "with logvar = 0 the samples must have std 1"


@pytest.mark.points(0)
def test_public_gaussian_kl_at_the_prior(submission):
    kl = submission.gaussian_kl(torch.zeros(4, 5), torch.zeros(4, 5))
    assert kl.shape == (4,), "gaussian_kl must return one value per example: shape (B,)"
    assert torch.allclose(kl, torch.zeros(4)), "KL(N(0, I) || N(0, I)) must be 0"
    kl = submission.gaussian_kl(torch.ones(1, 2), torch.zeros(1, 2))
    assert abs(kl.item() - 1.0) < 1e-5, "KL(N((1, 1), I) || N(0, I)) = 0.5 * (1 + 1) = 1"


@pytest.mark.points(0)
def test_public_bernoulli_log_likelihood_small(submission):
    logits, x = torch.zeros(2, 64), torch.ones(2, 64)
    out = submission.bernoulli_log_likelihood(logits, x)
    assert out.shape == (2,), "bernoulli_log_likelihood must return shape (B,)"
    assert torch.allclose(out, torch.full((2,), -64 * math.log(2.0)), atol=1e-4), (
        "with logits 0 every pixel has probability 1/2: 64 pixels give 64 * log(1/2)"
    )
    out = submission.bernoulli_log_likelihood(torch.tensor([[50.0]]), torch.tensor([[0.0]]))
    assert torch.isfinite(out).all(), "the log-likelihood must stay finite for large logits"


@pytest.mark.points(0)
def test_public_vae_shapes(submission):
    model = submission.VAE(64, 8, 32)
    x = (torch.rand(5, 64) < 0.3).float()
    mu, logvar = model.encode(x)
    assert mu.shape == (5, 8) and logvar.shape == (5, 8), "encode must return (B, z_dim) twice"
    assert model.decode(torch.randn(5, 8)).shape == (5, 64), "decode must return (B, x_dim) logits"
    logits, mu, logvar = model(x)
    assert logits.shape == (5, 64), "forward must return (logits, mu, logvar)"
    assert submission.elbo(model, x).shape == (5,), "elbo must return shape (B,)"
    assert submission.iwae_bound(model, x, 4).shape == (5,), "iwae_bound must return shape (B,)"


@pytest.mark.points(0)
def test_public_train_vae_returns_losses(submission):
    torch.manual_seed(0)
    data = (torch.rand(200, 16) < 0.3).float()
    model = submission.VAE(16, 2, 16)
    losses = submission.train_vae(model, data, 3, 50, 1e-3, 0)
    assert isinstance(losses, list) and len(losses) == 3, "one loss per epoch"
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses), (
        "the losses must be finite Python floats"
    )


@pytest.mark.points(0)
def test_public_vae_step_returns_the_loss(submission):
    torch.manual_seed(0)
    model = submission.VAE(16, 2, 16)
    x, eps = (torch.rand(8, 16) < 0.3).float(), torch.randn(8, 2)
    before = -submission.elbo(model, x, eps).mean().item()
    optimizer = submission.torch.optim.SGD(model.parameters(), lr=1e-2)
    loss = submission.vae_step(model, optimizer, x, eps)
    assert isinstance(loss, float), "vae_step must return a Python float (loss.item())"
    assert abs(loss - before) < 1e-4 * abs(before) + 1e-4, (
        "vae_step must return -elbo(model, x, eps).mean() before the step, for the given eps"
    )
    after = -submission.elbo(model, x, eps).mean().item()
    assert after < before, "one SGD step of vae_step must lower the loss on its own batch"
