"""Probability ratio computed as logp_new / logp_old instead of exp(logp_new - logp_old)."""
FAILS = ["test_surrogate_value", "test_surrogate_gradient_on_each_side_of_the_clip"]

import torch


def clipped_surrogate_loss(logp_new, logp_old, advantages, clip_eps=0.2):
    ratio = logp_new / logp_old  # wrong: a quotient of log-probabilities
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return -torch.min(ratio * advantages, clipped).mean()
