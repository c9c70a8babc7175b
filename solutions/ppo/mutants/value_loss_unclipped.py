"""Value loss without clipping: 0.5 * mean((V - R)^2)."""
FAILS = ["test_value_loss_formula", "test_value_loss_both_branches"]


def clipped_value_loss(values, old_values, returns, clip_eps=0.2):
    return 0.5 * ((values - returns) ** 2).mean()  # wrong: the clipped error is ignored
