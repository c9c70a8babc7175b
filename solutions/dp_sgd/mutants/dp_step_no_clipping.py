"""dp_step sums the raw per-example gradients: the per-sample clipping is skipped."""
FAILS = ["test_dp_step"]
PATCH = [("        clipped = clip_per_sample(per_sample_gradients(model, loss_fn, x, y), max_norm)\n",
          "        clipped = per_sample_gradients(model, loss_fn, x, y)\n")]
