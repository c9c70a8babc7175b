"""rdp_sampled_gaussian has no case for q = 0 (no example used): the formulas take log(0)."""
FAILS = ["test_rdp_spec_edges"]
PATCH = [("        if q == 0:\n            rdp.append(0.0)\n        elif sigma == 0:\n",
          "        if sigma == 0:\n")]
