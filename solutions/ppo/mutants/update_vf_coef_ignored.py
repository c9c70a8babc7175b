"""ppo_update ignores vf_coef: the value loss enters the loss with weight 1."""
FAILS = ["test_ppo_update_step"]
PATCH = [("loss = policy_loss + vf_coef * value_loss - ent_coef * entropy",
          "loss = policy_loss + value_loss - ent_coef * entropy  # wrong: vf_coef ignored")]
