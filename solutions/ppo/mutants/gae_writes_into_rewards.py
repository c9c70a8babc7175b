"""compute_gae writes the advantages into the caller's rewards tensor (advantages = rewards, an alias, not a copy); the values are right, the caller's rewards are gone."""
FAILS = ["test_inputs_left_unmodified"]


def compute_gae(rewards, values, dones, next_value, gamma=0.99, lam=0.95):
    T = rewards.shape[0]
    advantages = rewards  # wrong: an alias of the caller's tensor
    last_gae = next_value * 0.0
    for t in reversed(range(T)):
        v_next = next_value if t == T - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * v_next * not_done - values[t]
        last_gae = delta + gamma * lam * not_done * last_gae
        advantages[t] = last_gae  # overwrites rewards[t], already used
    return advantages, advantages + values
