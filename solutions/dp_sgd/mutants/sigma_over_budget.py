"""noise_multiplier_for returns the lower end of the bisection (its epsilon exceeds the target)."""
FAILS = ["test_noise_multiplier_for"]
PATCH = [("    return high\n", "    return low\n")]
