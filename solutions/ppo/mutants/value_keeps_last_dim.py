"""ActorCritic.value returning shape (B, 1): it broadcasts against (B,) returns into a (B, B) loss.

train_ppo cannot run with it (a (N, 1) value does not fit the (N,) rollout table), so the
training tests, which must call the student's network, fail too: a cascade no test of
the loop can avoid."""
FAILS = ["test_actor_critic_shapes", "test_train_ppo_contract", "test_train_ppo_seeds_honoured"]


class ActorCritic(ActorCritic):  # the reference, with value not squeezed
    def value(self, obs):
        return self.critic(obs)  # wrong: (B, 1)
