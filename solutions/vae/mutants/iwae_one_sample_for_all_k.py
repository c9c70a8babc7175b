"""IWAE draws one sample per example and repeats it k times when no eps is given (L_k = L_1)."""
FAILS = ["test_iwae_without_eps_matches_its_expectation"]

PATCH = [("eps = torch.randn((k,) + tuple(mu.shape), dtype=mu.dtype, device=mu.device)",
          "eps = torch.randn_like(mu).expand((k,) + tuple(mu.shape))")]  # not independent
