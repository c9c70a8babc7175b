"""Clipped surrogate normalising the advantages inside the loss (the loop already does)."""
FAILS = ["test_surrogate_value", "test_surrogate_gradient_on_each_side_of_the_clip",
         "test_surrogate_uses_advantages_as_given"]

import torch


def clipped_surrogate_loss(logp_new, logp_old, advantages, clip_eps=0.2):
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)  # wrong
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return -torch.min(ratio * advantages, clipped).mean()
