"""Fractional orders fed to the integer formula (sum up to floor(alpha), lgamma binomials)."""
FAILS = ["test_rdp_fractional_orders"]


def log_a_fractional(q, sigma, alpha):
    log_a = -math.inf
    for k in range(int(alpha) + 1):
        log_binom = math.lgamma(alpha + 1) - math.lgamma(k + 1) - math.lgamma(alpha - k + 1)
        log_term = (log_binom + k * math.log(q) + (alpha - k) * math.log(1 - q)
                    + (k * k - k) / (2 * sigma ** 2))
        log_a = log_add(log_a, log_term)
    return log_a
