"""Hidden suite of the `ppo` module (Schulman et al. 2017; GAE: Schulman et al. 2016).

Fixtures (engine plugin): `submission` (the student's definitions), `reference`
(unused: every expected value comes from formulas computed in this file, in float64,
and CartPole is played here, on the trusted side, with the student's trained policy),
`device` (ignored: everything runs on the CPU).

Bugs this suite catches (one line each, then the tests that catch it; each has a mutant):
- GAE ignoring dones (bootstraps and accumulates across episodes)  -> test_gae_shapes_and_returns, test_gae_lambda_one_is_monte_carlo, test_gae_lambda_zero_is_td_residual, test_gae_general_lambda, test_gae_episode_boundaries, test_train_ppo_contract, test_train_ppo_beats_random
- GAE cutting the recursion but bootstrapping delta across a done   -> test_gae_shapes_and_returns, test_gae_lambda_one_is_monte_carlo, test_gae_lambda_zero_is_td_residual, test_gae_general_lambda, test_gae_episode_boundaries
- GAE masking step t with dones[t + 1] (the next_done convention)   -> test_gae_shapes_and_returns, test_gae_lambda_one_is_monte_carlo, test_gae_lambda_zero_is_td_residual, test_gae_general_lambda, test_gae_episode_boundaries
- GAE recursion without gamma (decays by lambda only)               -> test_gae_lambda_one_is_monte_carlo, test_gae_general_lambda
- GAE bootstrapping delta with lambda instead of gamma (mixed up)   -> test_gae_shapes_and_returns, test_gae_lambda_one_is_monte_carlo, test_gae_lambda_zero_is_td_residual, test_gae_general_lambda
- returns = advantages (forgot + values)                            -> test_gae_shapes_and_returns
- surrogate with max instead of min                                 -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip, test_train_ppo_beats_random
- surrogate clipping the advantage instead of the ratio             -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip, test_surrogate_uses_advantages_as_given
- surrogate without the minus sign (a loss that maximises)          -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip, test_surrogate_uses_advantages_as_given, test_train_ppo_contract, test_train_ppo_beats_random
- ratio = logp_new / logp_old instead of exp(logp_new - logp_old)   -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip, test_train_ppo_contract, test_train_ppo_beats_random
- surrogate normalising the advantages inside                       -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip, test_surrogate_uses_advantages_as_given
- surrogate without clipping (plain ratio * A)                      -> test_surrogate_value, test_surrogate_gradient_on_each_side_of_the_clip
- value loss without clipping                                       -> test_value_loss_formula, test_value_loss_both_branches
- value loss with min instead of max                                -> test_value_loss_formula, test_value_loss_both_branches
- value loss clipping around the returns instead of the old values  -> test_value_loss_formula, test_value_loss_both_branches
- value loss without the factor 1/2                                 -> test_value_loss_formula, test_value_loss_both_branches
- critic value of shape (B, 1) (broadcasts to (B, B) in the loss)   -> test_actor_critic_shapes, test_train_ppo_contract, test_train_ppo_beats_random
- act ignoring the given action (log-prob of a fresh sample)        -> test_act_log_probs_and_entropy, test_act_samples_follow_policy, test_train_ppo_contract, test_train_ppo_beats_random
- act returning the negative entropy (sum p log p)                  -> test_actor_critic_shapes, test_act_log_probs_and_entropy
- act taking the greedy action instead of sampling                  -> test_act_samples_follow_policy, test_train_ppo_beats_random
- train_ppo never calling optimizer.step()                          -> test_train_ppo_contract, test_train_ppo_beats_random
- train_ppo with the advantages' sign flipped (unlearns)            -> test_train_ppo_contract, test_train_ppo_beats_random
- train_ppo never resetting the running episode return              -> test_train_ppo_contract
- (anything else that stops real learning)                          -> test_train_ppo_contract, test_train_ppo_beats_random
(Mutants run without `slow` tests, so their FAILS lists name the non-slow ones only.)

Rules kept here so the suite also runs through the engine's RPC proxy: student objects
are only called, constructed, read, and set through `state_dict` / `load_state_dict`;
no student tensor is written in place, no callable is passed to student code, and
randomness of student code is judged by statistics (action frequencies within about
five standard errors, mean returns far from a random policy's), never by values under a
seed. Autograd does not cross the channel, so gradients of the losses are judged by
central finite differences of the student's own loss values, computed here. The trained
policy is judged by playing CartPole here, calling the student's `act` for actions.
"""
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

ATOL = 1e-4
RANDOM_POLICY_RETURN = 22.0  # mean CartPole-v1 return of uniformly random actions
SHORT_RUN_STEPS, SHORT_RUN_THRESHOLD = 8192, 50.0  # stated in the notebook
LONG_RUN_STEPS, LONG_RUN_THRESHOLD = 16384, 100.0  # stated in the notebook
EVAL_EPISODES = 20
EVAL_MAX_STEPS = 200  # evaluation episodes are cut here (CartPole-v0's limit)


# ---------------------------------------------------------------- helpers


def _t(x):
    """A returned tensor as plain data (detached)."""
    assert isinstance(x, torch.Tensor), "expected a torch.Tensor to be returned"
    return x.detach()


def _rollout(T, N, seed, p_done=0.2):
    """Random rewards, values, 0/1 dones (float32) of shape (T, N) and next_value (N,)."""
    gen = torch.Generator().manual_seed(seed)
    rewards = torch.randn(T, N, generator=gen)
    values = torch.randn(T, N, generator=gen)
    dones = (torch.rand(T, N, generator=gen) < p_done).float()
    next_value = torch.randn(N, generator=gen)
    return rewards, values, dones, next_value


def _gae_call(submission, rewards, values, dones, next_value, **kw):
    result = submission.compute_gae(rewards, values, dones, next_value, **kw)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "compute_gae must return a tuple (advantages, returns)"
    )
    adv, ret = _t(result[0]), _t(result[1])
    assert adv.shape == rewards.shape and ret.shape == rewards.shape, (
        "advantages and returns must both have the shape (T, N) of the rewards"
    )
    return adv.double(), ret.double()


def _td_residuals(rewards, values, dones, next_value, gamma):
    """delta_t = r_t + gamma (1 - d_t) V(s_{t+1}) - V(s_t), V(s_T) = next_value (float64)."""
    r, v, d, nv = (x.double() for x in (rewards, values, dones, next_value))
    v_next = torch.cat([v[1:], nv[None]], dim=0)  # (T, N)
    return r + gamma * (1.0 - d) * v_next - v


def _gae_by_sums(rewards, values, dones, next_value, gamma, lam):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, the sum stopping after the first done."""
    delta = _td_residuals(rewards, values, dones, next_value, gamma)
    T, N = delta.shape
    adv = torch.zeros(T, N, dtype=torch.float64)
    for i in range(N):
        for t in range(T):
            total, weight = 0.0, 1.0
            for s in range(t, T):
                total += weight * delta[s, i].item()
                if dones[s, i] > 0.5:
                    break
                weight *= gamma * lam
            adv[t, i] = total
    return adv


def _monte_carlo_minus_value(rewards, values, dones, next_value, gamma):
    """Discounted return to the end of the episode (or bootstrapped from next_value at
    the end of the rollout when the episode goes on) minus V(s_t)."""
    T, N = rewards.shape
    adv = torch.zeros(T, N, dtype=torch.float64)
    for i in range(N):
        for t in range(T):
            ret, discount = 0.0, 1.0
            for s in range(t, T):
                ret += discount * rewards[s, i].item()
                discount *= gamma
                if dones[s, i] > 0.5:
                    break
            else:
                ret += discount * next_value[i].item()
            adv[t, i] = ret - values[t, i].item()
    return adv


def _loss(fn, *args, **kw):
    out = _t(fn(*args, **kw))
    assert out.dim() == 0, "the loss must be a scalar tensor: the mean over the batch"
    return out.double().item()


def _finite_difference(fn, args, h=1e-3, **kw):
    """d loss / d args[0][i] for every i, by central differences of the student's loss."""
    x = args[0]
    grads = torch.zeros(x.shape[0], dtype=torch.float64)
    for i in range(x.shape[0]):
        step = torch.zeros_like(x)
        step[i] = h
        up = _loss(fn, x + step, *args[1:], **kw)
        down = _loss(fn, x - step, *args[1:], **kw)
        grads[i] = (up - down) / (2 * h)
    return grads


def _randomize(model, seed):
    """Random weights of moderate scale (weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1^2))
    through load_state_dict, whatever the layer names, so the policy is not uniform."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            noise = torch.randn(value.shape, generator=gen)
            scale = 1.0 / math.sqrt(value.shape[-1]) if value.dim() >= 2 else 0.1
            state[key] = (scale * noise).to(value.dtype)
        else:
            state[key] = value
    model.load_state_dict(state)


def _act(model, obs, action=None):
    with torch.no_grad():
        result = model.act(obs) if action is None else model.act(obs, action)
    assert isinstance(result, (tuple, list)) and len(result) == 4, (
        "act must return a tuple (action, logp, entropy, value)"
    )
    return tuple(_t(x) for x in result)


def _action_probabilities(model, obs, n_actions):
    """p[b, a] = exp(logp) of act(obs, action=a) for every action a: shape (B, n_actions)."""
    B = obs.shape[0]
    logps, entropies, values = [], [], []
    for a in range(n_actions):
        given = torch.full((B,), a, dtype=torch.long)
        action, logp, entropy, value = _act(model, obs, given)
        assert torch.equal(action.long(), given), "act(obs, action) must return the given action"
        logps.append(logp.double())
        entropies.append(entropy.double())
        values.append(value.double())
    return torch.stack(logps, dim=1).exp(), entropies, values


def _play_cartpole(model, n_episodes, seed):
    """Mean return of fresh CartPole-v1 episodes, each cut at EVAL_MAX_STEPS, played HERE
    with actions from model.act (one batched call per time step for every episode still
    running; the cut bounds the number of calls into the sandbox)."""
    envs = [gym.make("CartPole-v1", max_episode_steps=EVAL_MAX_STEPS) for _ in range(n_episodes)]
    obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    returns = [0.0] * n_episodes
    running = list(range(n_episodes))
    act = model.act
    while running:
        batch = torch.as_tensor(np.stack([obs[i] for i in running]), dtype=torch.float32)
        with torch.no_grad():
            actions = _t(act(batch)[0])
        assert actions.shape == (len(running),), "act(obs) must return one action per observation"
        still = []
        for i, a in zip(running, actions.tolist()):
            assert a in (0, 1), "CartPole actions must be 0 or 1"
            obs[i], reward, terminated, truncated, _ = envs[i].step(int(a))
            returns[i] += float(reward)
            if not (terminated or truncated):  # truncated at EVAL_MAX_STEPS
                still.append(i)
        running = still
    for env in envs:
        env.close()
    return float(np.mean(returns))


def _train(submission, steps, seed):
    out = submission.train_ppo(steps, seed=seed)
    assert isinstance(out, dict), "train_ppo must return a dict"
    for key in ("episode_returns", "state_dict"):
        assert key in out, f"the dict returned by train_ppo must have the key {key!r}"
    return out


def _trained_policy(submission, out):
    model = submission.ActorCritic(4, 2)
    model.load_state_dict(out["state_dict"])
    return model


# ---------------------------------------------------------------- GAE


@pytest.mark.points(3)
def test_gae_shapes_and_returns(submission):
    for T, N, seed in ((7, 3, 0), (1, 1, 1), (5, 1, 2)):
        rewards, values, dones, next_value = _rollout(T, N, seed)
        adv, ret = _gae_call(submission, rewards, values, dones, next_value, gamma=0.9, lam=0.8)
        assert torch.allclose(ret, adv + values.double(), atol=ATOL), (
            "returns must be advantages + values (the lambda-return, the critic's target), "
            "not the advantages themselves"
        )
    rewards, values, dones, next_value = _rollout(1, 4, 3)
    adv, _ = _gae_call(submission, rewards, values, dones, next_value, gamma=0.9, lam=0.8)
    expected = rewards + 0.9 * (1.0 - dones) * next_value - values
    assert torch.allclose(adv, expected.double(), atol=ATOL), (
        "for a rollout of one step, the advantage is r_0 + gamma * (1 - d_0) * next_value - V(s_0)"
    )


@pytest.mark.points(5)
def test_gae_lambda_one_is_monte_carlo(submission):
    for seed, gamma in ((10, 0.9), (11, 0.99)):
        rewards, values, dones, next_value = _rollout(12, 4, seed, p_done=0.25)
        dones[:, 0] = 0.0  # one episode that outlives the rollout: bootstrap from next_value
        dones[-1, 1] = 1.0  # one that ends exactly at the last step: no bootstrap
        adv, _ = _gae_call(submission, rewards, values, dones, next_value, gamma=gamma, lam=1.0)
        expected = _monte_carlo_minus_value(rewards, values, dones, next_value, gamma)
        assert torch.allclose(adv[:, 0], expected[:, 0], atol=ATOL), (
            "with lambda = 1 and no episode end in the rollout, A_t must be the discounted sum "
            "of the rewards from t to T-1 plus gamma^(T-t) * next_value, minus V(s_t): the "
            "recursion is A_t = delta_t + gamma * lambda * A_{t+1}"
        )
        assert torch.allclose(adv, expected, atol=ATOL), (
            "with lambda = 1, A_t must be the Monte-Carlo return (discounted rewards up to the "
            "end of the episode, bootstrapped from next_value only where the episode is still "
            "running at the end of the rollout) minus V(s_t); after a step with done = 1 nothing "
            "of the next episode may enter"
        )


@pytest.mark.points(5)
def test_gae_lambda_zero_is_td_residual(submission):
    for seed, gamma in ((20, 0.95), (21, 0.5)):
        rewards, values, dones, next_value = _rollout(10, 5, seed, p_done=0.3)
        adv, _ = _gae_call(submission, rewards, values, dones, next_value, gamma=gamma, lam=0.0)
        expected = _td_residuals(rewards, values, dones, next_value, gamma)
        assert torch.allclose(adv, expected, atol=ATOL), (
            "with lambda = 0, A_t must be the TD residual r_t + gamma * (1 - d_t) * V(s_{t+1}) "
            "- V(s_t), with V(s_{t+1}) = values[t + 1] inside the rollout and next_value after "
            "its last step; dones[t] masks the bootstrap of the SAME step t (the episode ended "
            "after action t, so values[t + 1] belongs to the next episode)"
        )


@pytest.mark.points(5)
def test_gae_general_lambda(submission):
    rewards, values, dones, next_value = _rollout(16, 4, 30)
    adv, _ = _gae_call(submission, rewards, values, dones, next_value)  # defaults 0.99, 0.95
    expected = _gae_by_sums(rewards, values, dones, next_value, 0.99, 0.95)
    assert torch.allclose(adv, expected, atol=ATOL), (
        "with the defaults gamma = 0.99, lam = 0.95, A_t must be sum_l (gamma * lambda)^l "
        "delta_{t+l}, stopping after the first step with done = 1"
    )
    for seed, gamma, lam in ((31, 0.9, 0.7), (32, 0.6, 0.9), (33, 0.8, 0.5)):
        rewards, values, dones, next_value = _rollout(16, 4, seed)
        adv, _ = _gae_call(submission, rewards, values, dones, next_value, gamma=gamma, lam=lam)
        expected = _gae_by_sums(rewards, values, dones, next_value, gamma, lam)
        assert torch.allclose(adv, expected, atol=ATOL), (
            "A_t must equal delta_t + gamma * lambda * (1 - d_t) * A_{t+1}: the recursion decays "
            "by gamma * lambda (both factors, gamma also inside delta_t), and d_t cuts it"
        )


@pytest.mark.points(4)
def test_gae_episode_boundaries(submission):
    T, N = 10, 3
    rewards, values, dones, next_value = _rollout(T, N, 40, p_done=0.0)
    dones[3, 0] = 1.0  # env 0: an episode ends after step 3
    dones[-1, 1] = 1.0  # env 1: an episode ends after the last step
    adv, _ = _gae_call(submission, rewards, values, dones, next_value, gamma=0.9, lam=0.9)

    later = (rewards.clone(), values.clone())
    later[0][4:, 0] += 5.0
    later[1][4:, 0] -= 3.0
    adv2, _ = _gae_call(submission, later[0], later[1], dones, next_value, gamma=0.9, lam=0.9)
    assert torch.allclose(adv2[:4, 0], adv[:4, 0], atol=ATOL), (
        "rewards and values after a step with done = 1 belong to the next episode: they must not "
        "change the advantages of steps 0..t of the episode that ended (do not bootstrap from "
        "values[t + 1] and do not carry A_{t+1} back across the boundary)"
    )
    nv2 = next_value.clone()
    nv2[1] += 10.0
    adv3, _ = _gae_call(submission, rewards, values, dones, nv2, gamma=0.9, lam=0.9)
    assert torch.allclose(adv3[:, 1], adv[:, 1], atol=ATOL), (
        "when an environment's episode ended at the last step (dones[T-1] = 1), next_value is the "
        "first value of a new episode and must not be used"
    )
    other = rewards.clone()
    other[:, 2] += 7.0
    adv4, _ = _gae_call(submission, other, values, dones, next_value, gamma=0.9, lam=0.9)
    assert torch.allclose(adv4[:, :2], adv[:, :2], atol=ATOL), (
        "the N environments (columns) are independent: changing the rewards of one must not "
        "change the advantages of another (recurse over time, axis 0, never across columns)"
    )
    all_done = torch.ones(T, N)
    adv5, _ = _gae_call(submission, rewards, values, all_done, next_value, gamma=0.9, lam=0.9)
    assert torch.allclose(adv5, (rewards - values).double(), atol=ATOL), (
        "if every step ends an episode, every advantage is r_t - V(s_t): nothing is bootstrapped"
    )


# ---------------------------------------------------------------- clipped surrogate


def _expected_surrogate(logp_new, logp_old, adv, eps):
    ratio = (logp_new.double() - logp_old.double()).exp()
    a = adv.double()
    return -torch.min(ratio * a, ratio.clamp(1 - eps, 1 + eps) * a).mean().item()


@pytest.mark.points(4)
def test_surrogate_value(submission):
    gen = torch.Generator().manual_seed(50)
    for eps in (0.2, 0.1, 0.3):
        logp_old = -torch.rand(64, generator=gen) * 2.0  # (B,)
        logp_new = logp_old + (torch.rand(64, generator=gen) * 1.4 - 0.7)  # ratios 0.5 .. 2
        adv = torch.randn(64, generator=gen)
        loss = _loss(submission.clipped_surrogate_loss, logp_new, logp_old, adv, clip_eps=eps)
        expected = _expected_surrogate(logp_new, logp_old, adv, eps)
        assert math.isclose(loss, expected, rel_tol=1e-4, abs_tol=1e-5), (
            "clipped_surrogate_loss must be -mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) "
            "* A)) with ratio = exp(logp_new - logp_old): a loss to MINIMISE (note the minus "
            "sign), the min (pessimistic bound, not the max), the ratio clipped (not the "
            "advantage), and the advantages used as given"
        )


@pytest.mark.points(6)
def test_surrogate_gradient_on_each_side_of_the_clip(submission):
    eps = 0.2
    ratios = torch.tensor([0.6, 0.9, 1.1, 1.4, 0.6, 0.9, 1.1, 1.4], dtype=torch.float64)
    adv = torch.tensor([1.5, 1.5, 1.5, 1.5, -0.8, -0.8, -0.8, -0.8], dtype=torch.float64)
    logp_old = -torch.linspace(0.3, 2.0, 8, dtype=torch.float64)
    logp_new = logp_old + ratios.log()
    grads = _finite_difference(submission.clipped_surrogate_loss, (logp_new, logp_old, adv),
                               clip_eps=eps)
    active = torch.where(adv > 0, ratios < 1 + eps, ratios > 1 - eps)
    expected = torch.where(active, -adv * ratios / len(ratios), torch.zeros(()))
    where = ["A > 0, ratio < 1 - eps", "A > 0, ratio inside", "A > 0, ratio inside",
             "A > 0, ratio > 1 + eps", "A < 0, ratio < 1 - eps", "A < 0, ratio inside",
             "A < 0, ratio inside", "A < 0, ratio > 1 + eps"]
    for i in range(len(ratios)):
        flat = not active[i]
        assert abs(grads[i].item() - expected[i].item()) < 2e-3, (
            f"d loss / d logp_new is wrong for a sample with {where[i]}: "
            + ("the clipped term is the minimum there, so the loss must be FLAT in logp_new "
               "(zero gradient): moving further in the profitable direction earns nothing"
               if flat else
               "the unclipped term ratio * A is the minimum there, so the gradient must be "
               "-A * ratio / B (ratio = exp(logp_new - logp_old)); the clip is one-sided: "
               "a ratio that moved the WRONG way for its advantage is never clipped")
        )


@pytest.mark.points(2)
def test_surrogate_uses_advantages_as_given(submission):
    logp = -torch.rand(5, generator=torch.Generator().manual_seed(60))
    loss = _loss(submission.clipped_surrogate_loss, logp, logp.clone(), torch.full((5,), 2.0))
    assert math.isclose(loss, -2.0, abs_tol=1e-5), (
        "with logp_new = logp_old (ratio 1) the loss must be -mean(A): with every advantage 2 it "
        "is -2. Do not normalise the advantages inside the loss (the training loop does), and "
        "return the NEGATIVE objective"
    )
    gen = torch.Generator().manual_seed(61)
    logp_old = -torch.rand(32, generator=gen)
    logp_new = logp_old + 0.5 * torch.randn(32, generator=gen)
    adv = torch.randn(32, generator=gen)
    small = _loss(submission.clipped_surrogate_loss, logp_new, logp_old, adv)
    large = _loss(submission.clipped_surrogate_loss, logp_new, logp_old, 10.0 * adv)
    assert math.isclose(large, 10.0 * small, rel_tol=1e-4, abs_tol=1e-5), (
        "scaling the advantages by 10 must scale the loss by 10: use the advantages as given, "
        "without normalising them inside clipped_surrogate_loss"
    )


# ---------------------------------------------------------------- clipped value loss


def _expected_value_loss(values, old_values, returns, eps):
    v, old, ret = values.double(), old_values.double(), returns.double()
    clipped = old + (v - old).clamp(-eps, eps)
    return 0.5 * torch.max((v - ret) ** 2, (clipped - ret) ** 2).mean().item()


@pytest.mark.points(4)
def test_value_loss_formula(submission):
    gen = torch.Generator().manual_seed(70)
    for eps in (0.2, 0.5):
        old = torch.randn(64, generator=gen)
        values = old + (torch.rand(64, generator=gen) * 1.2 - 0.6)
        returns = torch.randn(64, generator=gen)
        loss = _loss(submission.clipped_value_loss, values, old, returns, clip_eps=eps)
        expected = _expected_value_loss(values, old, returns, eps)
        assert math.isclose(loss, expected, rel_tol=1e-4, abs_tol=1e-5), (
            "clipped_value_loss must be 0.5 * mean(max((V - R)^2, (V_clip - R)^2)) with V_clip = "
            "V_old + clip(V - V_old, -eps, eps): clipped around the OLD values, the larger "
            "(max) of the two squared errors, and the factor 0.5"
        )


@pytest.mark.points(4)
def test_value_loss_both_branches(submission):
    old = torch.zeros(4, dtype=torch.float64)
    returns = torch.tensor([1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    # inside the clip / past the clip towards the target / away from it / towards a negative target
    values = torch.tensor([0.1, 0.9, -0.5, -0.9], dtype=torch.float64)
    per_sample = torch.tensor([0.81, 0.64, 2.25, 0.64], dtype=torch.float64)  # the max of the two
    loss = _loss(submission.clipped_value_loss, values, old, returns)
    assert math.isclose(loss, 0.5 * per_sample.mean().item(), rel_tol=1e-4), (
        "clipped_value_loss must use the larger of the clipped and unclipped squared errors: a "
        "prediction moved more than eps TOWARDS the target is scored by its clipped error "
        "(V_old + eps), one moved AWAY from it by its unclipped error; with factor 0.5 and the mean"
    )
    grads = _finite_difference(submission.clipped_value_loss, (values, old, returns))
    expected = torch.tensor([0.1 - 1.0, 0.0, -0.5 - 1.0, 0.0], dtype=torch.float64) / 4
    assert abs(grads[1].item()) < 1e-3 and abs(grads[3].item()) < 1e-3, (
        "a prediction already moved more than eps towards its target (beyond the clip) must get "
        "no gradient: the clipped error is the larger one and does not depend on V"
    )
    assert torch.allclose(grads, expected, atol=1e-3), (
        "inside the clip, or beyond it away from the target, the gradient of the loss with "
        "respect to V must be (V - R) / B: the unclipped error 0.5 * (V - R)^2 is the larger one"
    )


# ---------------------------------------------------------------- ActorCritic


@pytest.mark.points(2)
def test_actor_critic_shapes(submission):
    torch.manual_seed(80)
    for obs_dim, n_actions, B, kw in ((4, 2, 7, {}), (5, 3, 1, {"hidden": 32})):
        model = submission.ActorCritic(obs_dim, n_actions, **kw)
        obs = torch.randn(B, obs_dim)
        action, logp, entropy, value = _act(model, obs)
        for name, x in (("action", action), ("logp", logp), ("entropy", entropy), ("value", value)):
            assert x.shape == (B,), (
                f"act(obs) must return {name} of shape (B,) for obs of shape (B, obs_dim); squeeze "
                "the critic's last dimension (a (B, 1) value broadcasts against (B,) returns into "
                "a (B, B) loss)"
            )
        assert not action.is_floating_point(), "actions must be integer (long) tensors"
        assert action.min() >= 0 and action.max() < n_actions, "actions must lie in [0, n_actions)"
        assert torch.all(logp <= 1e-6), "log-probabilities of a categorical policy are <= 0"
        assert torch.all(entropy >= -1e-6) and torch.all(entropy <= math.log(n_actions) + 1e-5), (
            "the entropy of a categorical distribution lies in [0, log n_actions]"
        )
        v = _t(model.value(obs))
        assert v.shape == (B,), "value(obs) must have shape (B,)"
        assert torch.allclose(v, value, atol=1e-5), "act's value must equal value(obs)"


@pytest.mark.points(4)
def test_act_log_probs_and_entropy(submission):
    torch.manual_seed(81)
    model = submission.ActorCritic(4, 3)
    _randomize(model, 82)
    obs = torch.randn(6, 4)
    p, entropies, values = _action_probabilities(model, obs, 3)
    assert torch.allclose(p.sum(dim=1), torch.ones(6, dtype=torch.float64), atol=1e-5), (
        "exp(logp) of act(obs, action=a) summed over all actions a must be 1 for every "
        "observation: act must return the log-probability of the GIVEN action "
        "(dist.log_prob(action)), not of a freshly sampled one"
    )
    expected_entropy = -(p * p.log()).sum(dim=1)
    for entropy in entropies:
        assert torch.allclose(entropy, expected_entropy, atol=1e-4), (
            "entropy must be -sum_a p(a|s) log p(a|s) per observation (>= 0, shape (B,)), the "
            "entropy of the same distribution the log-probabilities come from"
        )
    for value in values[1:]:
        assert torch.allclose(value, values[0], atol=1e-5), (
            "the value V(s) must not depend on the action passed to act"
        )


@pytest.mark.points(3)
@pytest.mark.visibility("hidden")
def test_act_samples_follow_policy(submission):
    torch.manual_seed(83)
    model = submission.ActorCritic(4, 3)
    _randomize(model, 84)
    candidates = torch.randn(8, 4)
    p, _, _ = _action_probabilities(model, candidates, 3)
    chosen = p.max(dim=1).values.argsort()[:2]  # the two least peaked policies
    n = 3000
    obs = candidates[chosen].repeat_interleave(n, dim=0)  # (2n, 4)
    action, _, _, _ = _act(model, obs)
    for k, row in enumerate(chosen.tolist()):
        freq = torch.bincount(action[k * n:(k + 1) * n].long(), minlength=3).double() / n
        tv = 0.5 * (freq - p[row]).abs().sum().item()
        assert tv < 0.05, (
            "act(obs) must SAMPLE actions from the categorical policy (dist.sample()): over 3000 "
            "samples of one observation the action frequencies must match exp(logp) (not always "
            "the most likely action)"
        )


# ---------------------------------------------------------------- training


@pytest.mark.points(4)
@pytest.mark.time_limit(90)
def test_train_ppo_contract(submission):
    out = _train(submission, SHORT_RUN_STEPS, seed=1)
    returns = out["episode_returns"]
    assert isinstance(returns, list) and len(returns) > 0, (
        "episode_returns must be a non-empty list: the return of every episode completed "
        "during training"
    )
    assert all(isinstance(r, float) for r in returns), (
        "episode_returns must hold Python floats (float(running_return))"
    )
    assert all(1.0 <= r <= 500.0 for r in returns), (
        "every CartPole-v1 episode return lies in [1, 500]: reset the running return of an "
        "environment to 0 when its episode ends"
    )
    assert sum(returns) <= 2 * SHORT_RUN_STEPS, (
        "the returns of the completed episodes add up to more than the environment steps "
        "taken (CartPole gives 1 per step): count each step once and reset the running return "
        "when an episode ends"
    )
    # a batch of 3 in 2 minibatches leaves one of a single sample, whose advantage
    # cannot be normalised by its (undefined) standard deviation
    uneven = submission.train_ppo(3, seed=0, num_envs=1, num_steps=3, update_epochs=1,
                                  num_minibatches=2)
    assert all(torch.isfinite(v).all() for v in uneven["state_dict"].values()), (
        "train_ppo(num_envs=1, num_steps=3, num_minibatches=2) returned weights with NaN: a "
        "minibatch of one sample has no standard deviation; normalise the advantages only "
        "where a minibatch has more than one sample"
    )
    model = _trained_policy(submission, out)
    mean = _play_cartpole(model, EVAL_EPISODES, seed=1000)
    assert mean >= SHORT_RUN_THRESHOLD, (
        f"after train_ppo({SHORT_RUN_STEPS}) the trained policy (loaded from the returned "
        f"state_dict into ActorCritic(4, 2), actions sampled by your act) must already be "
        f"better than random on fresh CartPole episodes played by the grader: mean return at "
        f"least {SHORT_RUN_THRESHOLD:g} over {EVAL_EPISODES} episodes cut at {EVAL_MAX_STEPS} "
        f"steps (random: about "
        f"{RANDOM_POLICY_RETURN:g}). Check that the optimiser steps, the loss is minimised "
        "(clipped_surrogate_loss is the NEGATIVE objective), and the hyperparameters of the "
        "signature are used"
    )


@pytest.mark.points(5)
@pytest.mark.slow
@pytest.mark.time_limit(150)
@pytest.mark.visibility("after_due_date")
def test_train_ppo_beats_random(submission):
    out = _train(submission, LONG_RUN_STEPS, seed=2)
    model = _trained_policy(submission, out)
    mean = _play_cartpole(model, EVAL_EPISODES, seed=2000)
    assert mean >= LONG_RUN_THRESHOLD, (
        f"after train_ppo({LONG_RUN_STEPS}) the trained policy must keep the pole up clearly "
        f"longer than a random one: mean return at least {LONG_RUN_THRESHOLD:g} over "
        f"{EVAL_EPISODES} fresh CartPole episodes cut at {EVAL_MAX_STEPS} steps, played by the "
        f"grader (random: about "
        f"{RANDOM_POLICY_RETURN:g}). Check the advantages (GAE, dones), their normalisation "
        "per minibatch, the several epochs of minibatch updates on the same rollout, and the "
        "learning rate"
    )
