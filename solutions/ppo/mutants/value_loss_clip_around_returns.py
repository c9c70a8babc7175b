"""Value loss clipping the prediction to returns +- eps instead of old_values +- eps."""
FAILS = ["test_value_loss_formula", "test_value_loss_both_branches"]

import torch


def clipped_value_loss(values, old_values, returns, clip_eps=0.2):
    v_clipped = returns + torch.clamp(values - returns, -clip_eps, clip_eps)  # wrong centre
    return 0.5 * torch.max((values - returns) ** 2, (v_clipped - returns) ** 2).mean()
