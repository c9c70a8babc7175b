"""ppo_update uses the minibatch's advantages without normalising them to mean 0 and std 1."""
FAILS = ["test_ppo_update_reports_losses", "test_ppo_update_step"]
PATCH = [("            adv = (adv - adv.mean()) / (adv.std() + 1e-8)\n",
          "            pass  # wrong: no normalisation\n")]
