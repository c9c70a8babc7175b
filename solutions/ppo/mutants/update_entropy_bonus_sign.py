"""ppo_update adds the entropy term to the loss instead of subtracting it: the bonus becomes a penalty that drives the policy to deterministic actions."""
FAILS = ["test_ppo_update_step"]
PATCH = [("loss = policy_loss + vf_coef * value_loss - ent_coef * entropy",
          "loss = policy_loss + vf_coef * value_loss + ent_coef * entropy  # wrong sign")]
