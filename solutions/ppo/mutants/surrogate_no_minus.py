"""Clipped surrogate returned without the minus sign: minimising it makes the policy worse."""
FAILS = ["test_surrogate_value", "test_surrogate_gradient_on_each_side_of_the_clip",
         "test_surrogate_uses_advantages_as_given"]

import torch


def clipped_surrogate_loss(logp_new, logp_old, advantages, clip_eps=0.2):
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return torch.min(ratio * advantages, clipped).mean()  # wrong: the objective, not the loss
