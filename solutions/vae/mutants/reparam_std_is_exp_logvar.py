"""reparameterize uses std = exp(logvar) (forgets the 1/2: the variance is exp(logvar))."""
FAILS = [
    "test_reparameterize_with_given_eps",
    "test_reparameterize_statistics",
    "test_reparameterize_gradient",
]

PATCH = [("std = torch.exp(0.5 * logvar)  # (B, z_dim)\n    if eps is None:",
          "std = torch.exp(logvar)  # should be exp(0.5 * logvar)\n    if eps is None:")]
