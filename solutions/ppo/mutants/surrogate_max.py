"""Clipped surrogate with max instead of min (an optimistic bound: the clip never binds)."""
FAILS = ["test_surrogate_value", "test_surrogate_gradient_on_each_side_of_the_clip"]

import torch


def clipped_surrogate_loss(logp_new, logp_old, advantages, clip_eps=0.2):
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return -torch.max(ratio * advantages, clipped).mean()  # wrong: min
