"""ppo_update flips the sign of the normalised advantages: it makes bad actions more likely."""
FAILS = ["test_ppo_update_reports_losses", "test_ppo_update_step"]
PATCH = [("adv = (adv - adv.mean()) / (adv.std() + 1e-8)",
          "adv = (adv.mean() - adv) / (adv.std() + 1e-8)  # wrong sign")]
