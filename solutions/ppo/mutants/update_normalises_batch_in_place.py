"""ppo_update writes each minibatch's normalised advantages back into the caller's batch (batch["advantages"][mb] = adv): the caller's data changes under it.

Both tests it fails are ppo_update's: the in-place check, and the minibatch test, since a
later epoch's minibatch now sees advantages normalised by earlier minibatches."""

FAILS = ["test_inputs_left_unmodified", "test_ppo_update_minibatches_and_clipping"]

PATCH = [("            adv = (adv - adv.mean()) / (adv.std() + 1e-8)\n",
          "            adv = (adv - adv.mean()) / (adv.std() + 1e-8)\n"
          "            batch[\"advantages\"][mb] = adv\n")]
