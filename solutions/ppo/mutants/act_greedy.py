"""act taking the most likely action instead of sampling from the policy."""
FAILS = ["test_act_samples_follow_policy"]

from torch.distributions import Categorical


class ActorCritic(ActorCritic):  # the reference, acting greedily
    def act(self, obs, action=None):
        logits = self.actor(obs)
        dist = Categorical(logits=logits)
        if action is None:
            action = logits.argmax(dim=-1)  # wrong: no exploration, not the policy's samples
        return action, dist.log_prob(action), dist.entropy(), self.value(obs)
