"""vae_step draws its own noise (elbo(model, x)) instead of using the eps it is given."""
FAILS = ["test_vae_step_matches_finite_differences"]

PATCH = [("loss = -elbo(model, x, eps).mean()  # scalar, nats per example",
          "loss = -elbo(model, x).mean()  # eps ignored: fresh noise")]
