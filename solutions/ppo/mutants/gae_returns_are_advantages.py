"""compute_gae returning the advantages as returns (forgot + values)."""
FAILS = ["test_gae_shapes_and_returns"]

_compute_gae_reference = compute_gae


def compute_gae(rewards, values, dones, next_value, gamma=0.99, lam=0.95):
    advantages, _ = _compute_gae_reference(rewards, values, dones, next_value, gamma, lam)
    return advantages, advantages.clone()  # wrong: returns = advantages + values
