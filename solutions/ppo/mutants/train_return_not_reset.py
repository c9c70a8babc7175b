"""train_ppo never resets the running episode return, so episode_returns accumulate across episodes."""
FAILS = ["test_train_ppo_contract"]
PATCH = [("                running_return[i] = 0.0\n",
          "                pass  # wrong: running_return[i] = 0.0 missing\n")]
