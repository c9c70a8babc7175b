"""ppo_update never calls optimizer.step(): the policy keeps its initial weights."""
FAILS = ["test_ppo_update_step", "test_ppo_update_minibatches_and_clipping"]
PATCH = [("        optimizer.step()\n",
          "        pass  # wrong: optimizer.step() missing\n")]
