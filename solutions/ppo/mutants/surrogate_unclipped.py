"""Surrogate without clipping: -mean(ratio * A), nothing stops large policy updates."""
FAILS = ["test_surrogate_value", "test_surrogate_gradient_on_each_side_of_the_clip"]

import torch


def clipped_surrogate_loss(logp_new, logp_old, advantages, clip_eps=0.2):
    ratio = torch.exp(logp_new - logp_old)
    return -(ratio * advantages).mean()  # wrong: no clip
