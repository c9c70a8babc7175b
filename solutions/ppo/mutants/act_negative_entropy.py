"""act returning sum p log p (the negative entropy) as the entropy."""
FAILS = ["test_actor_critic_shapes", "test_act_log_probs_and_entropy"]

import torch
from torch.distributions import Categorical


class ActorCritic(ActorCritic):  # the reference, with the entropy's sign flipped
    def act(self, obs, action=None):
        dist = Categorical(logits=self.actor(obs))
        if action is None:
            action = dist.sample()
        entropy = (dist.probs * torch.log(dist.probs)).sum(-1)  # wrong: missing minus
        return action, dist.log_prob(action), entropy, self.value(obs)
