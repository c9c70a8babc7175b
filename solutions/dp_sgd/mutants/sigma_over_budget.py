"""noise_multiplier_for returns the lower end of the bisection (its epsilon exceeds the target)."""
FAILS = ["test_noise_multiplier_for"]


def noise_multiplier_for(target_epsilon, delta, q, steps):
    low, high = 0.01, 100.0
    while high / low > 1.005:
        mid = math.sqrt(low * high)
        if epsilon(q, mid, steps, delta) <= target_epsilon:
            high = mid
        else:
            low = mid
    return low
