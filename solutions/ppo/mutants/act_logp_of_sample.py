"""act returning the log-probability of a fresh sample even when an action is given.

ppo_update's tests rebuild its loss from the student's own act; with this bug that loss
is random (a new sample at every call), so no step can be checked against it and the
three ppo_update tests fail too: a cascade they cannot avoid."""
FAILS = ["test_act_log_probs_and_entropy", "test_act_samples_follow_policy",
         "test_ppo_update_reports_losses", "test_ppo_update_step",
         "test_ppo_update_minibatches_and_clipping"]

from torch.distributions import Categorical


class ActorCritic(ActorCritic):  # the reference, with act's log_prob taken on the sample
    def act(self, obs, action=None):
        dist = Categorical(logits=self.actor(obs))
        sampled = dist.sample()
        if action is None:
            action = sampled
        return action, dist.log_prob(sampled), dist.entropy(), self.value(obs)  # wrong
