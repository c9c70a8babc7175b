"""GAE cutting the recursion at a done, but still bootstrapping delta_t from the next episode's value."""
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
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * v_next - values[t]  # wrong: V(s_{t+1}) of the next episode
        last_gae = delta + gamma * lam * not_done * last_gae
        advantages[t] = last_gae
    return advantages, advantages + values
