"""vae_step never calls optimizer.zero_grad(): gradients accumulate over all previous steps."""
FAILS = ["test_vae_step_matches_finite_differences"]

PATCH = [("    optimizer.zero_grad(set_to_none=True)\n    loss.backward()\n    optimizer.step()\n    return loss.item()",
          "    loss.backward()  # no zero_grad: .grad keeps the sum of every step so far\n    optimizer.step()\n    return loss.item()")]
