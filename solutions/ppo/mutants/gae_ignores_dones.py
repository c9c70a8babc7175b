"""GAE ignoring dones: bootstraps and accumulates advantages across episode boundaries."""
FAILS = ["test_gae_shapes_and_returns", "test_gae_lambda_one_is_monte_carlo",
         "test_gae_lambda_zero_is_td_residual", "test_gae_general_lambda",
         "test_gae_episode_boundaries"]

import torch


def compute_gae(rewards, values, dones, next_value, gamma=0.99, lam=0.95):
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        v_next = next_value if t == T - 1 else values[t + 1]
        delta = rewards[t] + gamma * v_next - values[t]  # wrong: no (1 - d_t)
        last_gae = delta + gamma * lam * last_gae  # wrong: no (1 - d_t)
        advantages[t] = last_gae
    return advantages, advantages + values
