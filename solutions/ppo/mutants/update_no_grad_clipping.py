"""ppo_update never clips the gradient norm: max_grad_norm is ignored."""
FAILS = ["test_ppo_update_minibatches_and_clipping"]
PATCH = [("        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n", "")]
