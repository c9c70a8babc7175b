"""vae_step minimises the ELBO itself (loss = elbo.mean()): gradient ascent on -ELBO."""
FAILS = ["test_vae_step_matches_finite_differences"]

PATCH = [("loss = -elbo(model, x, eps).mean()  # scalar, nats per example",
          "loss = elbo(model, x, eps).mean()  # wrong sign: this pushes the ELBO down")]
