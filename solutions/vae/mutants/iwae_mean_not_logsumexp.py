"""IWAE combines the k samples with a mean of log w (the ELBO again) instead of logsumexp - log k."""
FAILS = ["test_iwae_with_given_eps"]

PATCH = [("return torch.logsumexp(log_w, dim=0) - math.log(k)",
          "return log_w.mean(dim=0)")]  # Jensen the wrong way round
