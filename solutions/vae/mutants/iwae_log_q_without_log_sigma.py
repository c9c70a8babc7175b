"""IWAE's log q(z|x) evaluated as a standard normal density of eps: the -log sigma term is missing."""
FAILS = ["test_iwae_with_given_eps"]

PATCH = [("log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - log_norm).sum(dim=-1)",
          "log_qz = (-0.5 * eps.pow(2) - log_norm).sum(dim=-1)")]  # forgot -0.5 * logvar
