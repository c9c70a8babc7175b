"""clip_per_sample scales the caller's gradient tensors in place (mul_) and returns them."""
FAILS = ["test_inputs_left_unmodified"]


def clip_per_sample(grads, max_norm):
    norms = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1).norm(dim=1)
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads.values():
        g.mul_(factor.view(-1, *([1] * (g.dim() - 1))))
    return grads
