"""act returning the log-probability of a fresh sample even when an action is given."""
FAILS = ["test_act_log_probs_and_entropy", "test_act_samples_follow_policy"]

from torch.distributions import Categorical


class ActorCritic(ActorCritic):  # the reference, with act's log_prob taken on the sample
    def act(self, obs, action=None):
        dist = Categorical(logits=self.actor(obs))
        sampled = dist.sample()
        if action is None:
            action = sampled
        return action, dist.log_prob(sampled), dist.entropy(), self.value(obs)  # wrong
