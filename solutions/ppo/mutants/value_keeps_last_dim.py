"""ActorCritic.value returning shape (B, 1): it broadcasts against (B,) returns into a (B, B) loss."""
FAILS = ["test_actor_critic_shapes", "test_train_ppo_contract"]


class ActorCritic(ActorCritic):  # the reference, with value not squeezed
    def value(self, obs):
        return self.critic(obs)  # wrong: (B, 1)
