"""Epsilon from the RDP of one step: the RDP is not multiplied by the number of steps."""
FAILS = ["test_epsilon_matches_opacus", "test_epsilon_monotonicity"]


def epsilon(q, sigma, steps, delta, orders=None):
    orders = DEFAULT_ORDERS if orders is None else orders
    rdp = rdp_sampled_gaussian(q, sigma, orders)
    return min(rho + math.log((alpha - 1) / alpha) - (math.log(delta) + math.log(alpha)) / (alpha - 1)
               for alpha, rho in zip(orders, rdp))
