"""lm_step never zeroes the gradients: they accumulate over steps."""
FAILS = ["test_lm_step"]
PATCH = [("    optimizer.zero_grad(set_to_none=True)\n", "")]
