"""Public tests of the `ppo` module: quick shape and sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite checks
GAE against its limits and episode boundaries, the losses and their gradients on each
side of the clip, the policy's probabilities and sampling, and trains your agent and
plays CartPole with it.
"""
import math

import pytest
import torch


@pytest.mark.points(0)
def test_public_gae_shapes_and_one_step(submission):
    rewards, values = torch.randn(6, 3), torch.randn(6, 3)
    dones, next_value = torch.zeros(6, 3), torch.randn(3)
    adv, ret = submission.compute_gae(rewards, values, dones, next_value)
    assert adv.shape == (6, 3) and ret.shape == (6, 3), "advantages and returns must be (T, N)"
    assert torch.allclose(ret, adv + values, atol=1e-5), "returns must be advantages + values"
    r, v, d = torch.tensor([[1.0]]), torch.tensor([[0.5]]), torch.tensor([[0.0]])  # (1, 1)
    nv = torch.tensor([2.0])  # (1,)
    adv, _ = submission.compute_gae(r, v, d, nv, gamma=0.9, lam=0.95)
    assert abs(adv.item() - (1.0 + 0.9 * 2.0 - 0.5)) < 1e-5, (
        "one step: A_0 = r_0 + gamma * next_value - V(s_0) when the episode goes on"
    )
    adv, _ = submission.compute_gae(r, v, torch.ones(1, 1), nv, gamma=0.9, lam=0.95)
    assert abs(adv.item() - (1.0 - 0.5)) < 1e-5, "after done = 1 nothing is bootstrapped"


@pytest.mark.points(0)
def test_public_losses_at_ratio_one(submission):
    logp = -torch.rand(8)
    adv = torch.randn(8)
    loss = submission.clipped_surrogate_loss(logp, logp.clone(), adv)
    assert loss.dim() == 0, "clipped_surrogate_loss must return a scalar"
    assert abs(loss.item() + adv.mean().item()) < 1e-5, (
        "with logp_new = logp_old the ratio is 1 and the loss is -mean(advantages)"
    )
    values, returns = torch.randn(8), torch.randn(8)
    vloss = submission.clipped_value_loss(values, values.clone(), returns)
    assert vloss.dim() == 0, "clipped_value_loss must return a scalar"
    assert abs(vloss.item() - 0.5 * ((values - returns) ** 2).mean().item()) < 1e-5, (
        "with values = old_values nothing is clipped: the loss is 0.5 * mean((V - R)^2)"
    )


@pytest.mark.points(0)
def test_public_actor_critic_shapes(submission):
    model = submission.ActorCritic(4, 2)
    obs = torch.randn(5, 4)
    with torch.no_grad():
        action, logp, entropy, value = model.act(obs)
    for name, x in (("action", action), ("logp", logp), ("entropy", entropy), ("value", value)):
        assert x.shape == (5,), f"act must return {name} of shape (B,)"
    assert model.value(obs).shape == (5,), "value(obs) must have shape (B,)"
    assert torch.all(entropy <= math.log(2) + 1e-5), "entropy of 2 actions is at most log 2"


@pytest.mark.points(0)
@pytest.mark.time_limit(60)
def test_public_train_ppo_contract(submission):
    out = submission.train_ppo(1024, seed=0)
    assert isinstance(out, dict), "train_ppo must return a dict"
    assert set(out) >= {"episode_returns", "state_dict"}, (
        "train_ppo must return a dict with the keys 'episode_returns' and 'state_dict'"
    )
    returns = out["episode_returns"]
    assert isinstance(returns, list) and all(isinstance(r, float) for r in returns), (
        "episode_returns must be a list of Python floats"
    )
    model = submission.ActorCritic(4, 2)
    model.load_state_dict(out["state_dict"])  # an ActorCritic(4, 2) with the default hidden size


@pytest.mark.points(0)
def test_public_ppo_update_runs(submission):
    model = submission.ActorCritic(4, 2, hidden=8)
    model.double()  # the hidden tests use float64
    before = {k: v.clone() for k, v in model.state_dict().items()}
    obs = torch.randn(6, 4, dtype=torch.float64)
    actions = torch.randint(0, 2, (6,))
    batch = {"obs": obs, "actions": actions, "logp": torch.full((6,), -0.7, dtype=torch.float64),
             "values": torch.zeros(6, dtype=torch.float64),
             "advantages": torch.randn(6, dtype=torch.float64),
             "returns": torch.randn(6, dtype=torch.float64)}
    optimizer = submission.torch.optim.SGD(model.parameters(), lr=0.05)  # made where the model lives
    minibatches = [torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor([2])]
    stats = submission.ppo_update(model, optimizer, batch, minibatches)
    assert isinstance(stats, dict) and set(stats) >= {"policy_loss", "value_loss", "entropy"}, (
        "ppo_update must return a dict with 'policy_loss', 'value_loss' and 'entropy'"
    )
    assert all(len(stats[k]) == 3 for k in ("policy_loss", "value_loss", "entropy")), (
        "one number per minibatch in each list"
    )
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), (
        "ppo_update must change the model's parameters (optimizer.step() per minibatch)"
    )
    assert all(torch.isfinite(v).all() for v in after.values()), (
        "the weights must stay finite, also after a minibatch of one sample"
    )
