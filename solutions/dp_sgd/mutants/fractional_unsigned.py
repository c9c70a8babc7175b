"""Fractional series that adds every term, ignoring the sign of the binomial coefficient."""
FAILS = ["test_rdp_fractional_orders", "test_epsilon_matches_opacus"]


def log_a_fractional(q, sigma, alpha):
    z0 = sigma ** 2 * math.log(1 / q - 1) + 0.5
    log_a0, log_a1 = -math.inf, -math.inf
    binom, k = 1.0, 0
    while True:
        j = alpha - k
        log_binom = math.log(abs(binom))
        log_s0 = (log_binom + k * math.log(q) + j * math.log(1 - q) + (k * k - k) / (2 * sigma ** 2)
                  + math.log(0.5) + log_erfc((k - z0) / (math.sqrt(2) * sigma)))
        log_s1 = (log_binom + j * math.log(q) + k * math.log(1 - q) + (j * j - j) / (2 * sigma ** 2)
                  + math.log(0.5) + log_erfc((z0 - j) / (math.sqrt(2) * sigma)))
        log_a0, log_a1 = log_add(log_a0, log_s0), log_add(log_a1, log_s1)  # sign dropped
        if max(log_s0, log_s1) < -30:
            break
        binom *= (alpha - k) / (k + 1)
        k += 1
    return log_add(log_a0, log_a1)
