"""get_batch returns the input windows themselves as targets (no shift by one): the model learns to copy."""
FAILS = ["test_get_batch"]
PATCH = [("    return windows[:, :-1], windows[:, 1:]  # (B, T) each\n",
          "    return windows[:, :-1], windows[:, :-1]  # targets not shifted\n")]
