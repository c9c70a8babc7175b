"""Fractional series that adds every term, ignoring the sign of the binomial coefficient."""
FAILS = ["test_rdp_fractional_orders"]
PATCH = [("        if binom > 0:\n"
          "            log_a0, log_a1 = log_add(log_a0, log_s0), log_add(log_a1, log_s1)\n"
          "        else:\n"
          "            log_a0, log_a1 = log_sub(log_a0, log_s0), log_sub(log_a1, log_s1)\n",
          "        log_a0, log_a1 = log_add(log_a0, log_s0), log_add(log_a1, log_s1)  # sign dropped\n")]
