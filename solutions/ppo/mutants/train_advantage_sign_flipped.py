"""train_ppo flips the sign of the normalised advantages: it makes bad actions more likely."""
FAILS = ["test_train_ppo_contract"]
PATCH = [("adv = (adv - adv.mean()) / (adv.std() + 1e-8)",
          "adv = (adv.mean() - adv) / (adv.std() + 1e-8)  # wrong sign")]
