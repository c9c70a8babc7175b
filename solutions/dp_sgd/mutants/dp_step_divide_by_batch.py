"""dp_step divides the noisy sum by the sampled batch size len(x) instead of the expected q N."""
FAILS = ["test_dp_step", "test_dp_step_edges"]
PATCH = [("            noisy = (total + noise_multiplier * max_norm * noise[name].to(total)) / expected_batch_size\n",
          "            noisy = (total + noise_multiplier * max_norm * noise[name].to(total)) / x.shape[0]\n")]
