"""train_dp reports epsilon for `epochs` steps (one per epoch) instead of the steps taken."""
FAILS = ["test_train_dp_contract"]

_train_dp_reference = train_dp


def train_dp(model, x, y, epochs, sample_rate, max_norm, noise_multiplier, lr, delta, seed):
    result = _train_dp_reference(model, x, y, epochs, sample_rate, max_norm, noise_multiplier,
                                 lr, delta, seed)
    result["epsilon"] = epsilon(sample_rate, noise_multiplier, epochs, delta)
    return result
