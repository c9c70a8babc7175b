"""GPT calls its blocks without the causal mask: every position sees the future."""
FAILS = ["test_gpt_causality"]
PATCH = [("            x = block(x, mask)  # (B, T, d_model)\n",
          "            x = block(x)  # (B, T, d_model), mask forgotten\n")]
