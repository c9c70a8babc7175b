"""Mironov's classic RDP conversion rho + log(1/delta)/(alpha-1) instead of Balle et al.'s."""
FAILS = ["test_epsilon_matches_opacus"]


def epsilon(q, sigma, steps, delta, orders=None):
    orders = DEFAULT_ORDERS if orders is None else orders
    rdp = rdp_sampled_gaussian(q, sigma, orders)
    return min(steps * rho + math.log(1 / delta) / (alpha - 1) for alpha, rho in zip(orders, rdp))
