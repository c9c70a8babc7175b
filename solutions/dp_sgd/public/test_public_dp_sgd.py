"""Public tests of the `dp_sgd` module: quick shape and sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite compares
your per-example gradients with a one-example loop, checks the noise and the sampling
statistically, compares your accountant with Opacus, and evaluates your privately
trained model on held-out digits.
"""
import math

import pytest
import torch


@pytest.mark.points(0)
def test_public_per_sample_gradient_shapes(submission, recipe):
    model = recipe("torch.nn.Linear", 5, 3)
    loss_fn = recipe("torch.nn.functional.cross_entropy")
    x, y = torch.randn(4, 5), torch.tensor([0, 2, 1, 0])
    grads = submission.per_sample_gradients(model, loss_fn, x, y)
    assert set(grads) == {"weight", "bias"}, "keys must be the names of model.named_parameters()"
    assert grads["weight"].shape == (4, 3, 5), "grads['weight'] must have shape (B, 3, 5)"
    assert grads["bias"].shape == (4, 3), "grads['bias'] must have shape (B, 3)"


@pytest.mark.points(0)
def test_public_clipping_bounds_the_norm(submission):
    grads = {"w": torch.randn(6, 4, 3) * 10, "b": torch.randn(6, 4) * 10}
    clipped = submission.clip_per_sample(grads, 1.0)
    norms = torch.cat([g.flatten(1) for g in clipped.values()], dim=1).norm(dim=1)
    assert clipped["w"].shape == (6, 4, 3) and clipped["b"].shape == (6, 4), "shapes must not change"
    assert torch.all(norms <= 1.0 + 1e-5), "after clipping every example's joint norm is <= max_norm"


@pytest.mark.points(0)
def test_public_privatize_shapes(submission, recipe):
    clipped = {"w": torch.zeros(3, 4, 5), "b": torch.zeros(3, 4)}
    noisy = submission.privatize(clipped, 1.0, 1.0, 3.0, recipe("torch.Generator", 0))
    assert noisy["w"].shape == (4, 5) and noisy["b"].shape == (4,), (
        "privatize returns one tensor of the parameter's shape per entry"
    )


@pytest.mark.points(0)
def test_public_poisson_batches_types(submission, recipe):
    batches = submission.poisson_batches(100, 0.1, 5, recipe("torch.Generator", 0))
    assert len(batches) == 5, "one batch per step"
    assert all(b.dtype == torch.int64 and b.dim() == 1 for b in batches), (
        "every batch is a 1-D int64 tensor of indices"
    )


@pytest.mark.points(0)
def test_public_accountant_sanity(submission):
    rdp = submission.rdp_sampled_gaussian(1.0, 2.0, [2, 4.5])
    assert all(math.isclose(r, a / 8.0, rel_tol=1e-9) for r, a in zip(rdp, [2, 4.5])), (
        "with q = 1 the RDP is that of the Gaussian mechanism, alpha / (2 sigma^2)"
    )
    eps = submission.epsilon(0.05, 1.0, 100, 1e-5)
    assert math.isfinite(eps) and 0 < eps < 20, "epsilon should be a moderate positive float here"
    assert submission.epsilon(0.05, 1.0, 200, 1e-5) > eps, "epsilon grows with the number of steps"


@pytest.mark.points(0)
def test_public_dp_step_moves_the_parameters(submission, recipe):
    model = recipe("torch.nn.Linear", 5, 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    noise = {"weight": torch.zeros(3, 5), "bias": torch.zeros(3)}
    x, y = torch.randn(4, 5), torch.tensor([0, 2, 1, 0])
    result = submission.dp_step(model, recipe("torch.nn.functional.cross_entropy"), x, y, 1.0,
                                0.0, 4.0, 0.1, noise)
    assert result is None, "dp_step returns nothing: it updates the model in place"
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), (
        "dp_step must update the model's parameters in place"
    )
