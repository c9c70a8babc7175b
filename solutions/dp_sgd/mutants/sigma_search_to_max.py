"""noise_multiplier_for only gives up after doubling sigma up to MAX_NOISE_MULTIPLIER (no floor check): slow where q is large."""
FAILS = ["test_noise_multiplier_for_unreachable_budget"]
PATCH = [("    if target_epsilon <= floor:\n", "    if False:\n")]
