"""GAE recursion decaying by lambda only: A_t = delta_t + lam * (1 - d_t) * A_{t+1} (gamma missing)."""
FAILS = ["test_gae_lambda_one_is_monte_carlo", "test_gae_general_lambda"]

import torch


def compute_gae(rewards, values, dones, next_value, gamma=0.99, lam=0.95):
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        v_next = next_value if t == T - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * v_next * not_done - values[t]
        last_gae = delta + lam * not_done * last_gae  # wrong: gamma * lam
        advantages[t] = last_gae
    return advantages, advantages + values
