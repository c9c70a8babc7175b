"""Value loss without the factor 1/2."""
FAILS = ["test_value_loss_formula", "test_value_loss_both_branches"]

import torch


def clipped_value_loss(values, old_values, returns, clip_eps=0.2):
    v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return torch.max((values - returns) ** 2, (v_clipped - returns) ** 2).mean()  # wrong: 0.5
