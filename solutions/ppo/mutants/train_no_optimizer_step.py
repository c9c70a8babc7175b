"""train_ppo never calls optimizer.step(): the policy keeps its initial weights."""
FAILS = ["test_train_ppo_contract"]

import numpy as np
import torch
import torch.nn as nn


def train_ppo(total_timesteps, seed=0, env_id="CartPole-v1", num_envs=8, num_steps=128,
              lr=2.5e-3, update_epochs=4, num_minibatches=4, gamma=0.99, lam=0.95,
              clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5):
    torch.manual_seed(seed)
    envs = make_vector_env(env_id, num_envs)
    obs_dim = envs.single_observation_space.shape[0]
    n_actions = int(envs.single_action_space.n)
    model = ActorCritic(obs_dim, n_actions)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-5)
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    num_updates = max(1, total_timesteps // batch_size)

    obs_buf = torch.zeros(num_steps, num_envs, obs_dim)  # (T, N, obs_dim)
    action_buf = torch.zeros(num_steps, num_envs, dtype=torch.long)  # (T, N)
    logp_buf = torch.zeros(num_steps, num_envs)  # (T, N)
    reward_buf = torch.zeros(num_steps, num_envs)  # (T, N)
    done_buf = torch.zeros(num_steps, num_envs)  # (T, N)
    value_buf = torch.zeros(num_steps, num_envs)  # (T, N)

    obs, _ = envs.reset(seed=seed)
    obs = torch.as_tensor(obs, dtype=torch.float32)  # (N, obs_dim)
    running_return = np.zeros(num_envs)
    episode_returns = []
    for update in range(num_updates):
        for group in optimizer.param_groups:  # linear learning-rate decay
            group["lr"] = lr * (1.0 - update / num_updates)

        # 1. rollout
        for t in range(num_steps):
            with torch.no_grad():
                action, logp, _, value = model.act(obs)  # (N,) each
            next_obs, reward, terminated, truncated, _ = envs.step(action.numpy())
            done = np.logical_or(terminated, truncated)  # (N,)
            obs_buf[t], action_buf[t], logp_buf[t], value_buf[t] = obs, action, logp, value
            reward_buf[t] = torch.as_tensor(reward, dtype=torch.float32)
            done_buf[t] = torch.as_tensor(done, dtype=torch.float32)
            running_return += reward
            for i in np.flatnonzero(done):
                episode_returns.append(float(running_return[i]))
                running_return[i] = 0.0
            obs = torch.as_tensor(next_obs, dtype=torch.float32)  # already reset where done

        # 2. advantages and returns
        with torch.no_grad():
            next_value = model.value(obs)  # (N,)
        advantages, returns = compute_gae(reward_buf, value_buf, done_buf, next_value, gamma, lam)

        # 3. optimisation on the flattened batch
        b_obs = obs_buf.reshape(batch_size, obs_dim)  # (B, obs_dim)
        b_action, b_logp = action_buf.reshape(-1), logp_buf.reshape(-1)  # (B,)
        b_adv, b_ret, b_value = advantages.reshape(-1), returns.reshape(-1), value_buf.reshape(-1)
        for epoch in range(update_epochs):
            perm = torch.randperm(batch_size)
            for start in range(0, batch_size, minibatch_size):
                mb = perm[start:start + minibatch_size]  # (M,)
                _, logp, entropy, value = model.act(b_obs[mb], b_action[mb])  # (M,) each
                adv = b_adv[mb]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                policy_loss = clipped_surrogate_loss(logp, b_logp[mb], adv, clip_eps)
                value_loss = clipped_value_loss(value, b_value[mb], b_ret[mb], clip_eps)
                loss = policy_loss + vf_coef * value_loss - ent_coef * entropy.mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                # wrong: optimizer.step() missing
    envs.close()
    return {"episode_returns": episode_returns, "state_dict": model.state_dict()}
