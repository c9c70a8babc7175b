"""GAE masking step t with the done flag of step t + 1 (CleanRL's next_done convention), although dones marks the end after step t."""
FAILS = ["test_gae_shapes_and_returns", "test_gae_lambda_one_is_monte_carlo",
         "test_gae_lambda_zero_is_td_residual", "test_gae_general_lambda",
         "test_gae_episode_boundaries"]

import torch


def compute_gae(rewards, values, dones, next_value, gamma=0.99, lam=0.95):
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        if t == T - 1:
            v_next, not_done = next_value, torch.ones_like(next_value)  # wrong: off by one step
        else:
            v_next, not_done = values[t + 1], 1.0 - dones[t + 1]
        delta = rewards[t] + gamma * v_next * not_done - values[t]
        last_gae = delta + gamma * lam * not_done * last_gae
        advantages[t] = last_gae
    return advantages, advantages + values
