"""ppo_update never zeroes the gradients, so each minibatch's step also follows the gradients of the minibatches before it."""
FAILS = ["test_ppo_update_minibatches_and_clipping"]
PATCH = [("        optimizer.zero_grad()\n", "")]
