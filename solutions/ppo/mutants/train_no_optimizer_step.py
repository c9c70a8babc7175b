"""train_ppo never calls optimizer.step(): the policy keeps its initial weights."""
FAILS = ["test_train_ppo_contract"]
PATCH = [("                optimizer.step()\n",
          "                pass  # wrong: optimizer.step() missing\n")]
