"""elbo adds the KL term instead of subtracting it."""
FAILS = ["test_elbo_with_given_eps"]

PATCH = [("return bernoulli_log_likelihood(logits, x) - gaussian_kl(mu, logvar)",
          "return bernoulli_log_likelihood(logits, x) + gaussian_kl(mu, logvar)")]
