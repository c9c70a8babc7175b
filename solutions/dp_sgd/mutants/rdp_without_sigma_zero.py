"""rdp_sampled_gaussian has no case for sigma = 0 (no noise): the formulas divide by zero."""
FAILS = ["test_rdp_spec_edges"]
PATCH = [("        elif sigma == 0:\n            rdp.append(math.inf)\n", "")]
