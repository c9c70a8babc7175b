"""vae_step minimises the negative ELBO summed over the batch (its gradient B times too large), and returns it per example."""
FAILS = ["test_vae_step_matches_finite_differences"]


def vae_step(model, optimizer, x, eps):
    neg = -elbo(model, x, eps)  # (B,)
    optimizer.zero_grad()
    neg.sum().backward()  # should be the mean over the batch
    optimizer.step()
    return neg.mean().item()
