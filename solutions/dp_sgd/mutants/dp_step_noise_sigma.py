"""dp_step adds noise of standard deviation sigma instead of sigma * C (the same only when C = 1)."""
FAILS = ["test_dp_step", "test_dp_step_edges"]
PATCH = [("            noisy = (total + noise_multiplier * max_norm * noise[name].to(total)) / expected_batch_size\n",
          "            noisy = (total + noise_multiplier * noise[name].to(total)) / expected_batch_size\n")]
