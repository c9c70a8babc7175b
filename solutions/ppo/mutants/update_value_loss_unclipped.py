"""ppo_update regresses the critic with the plain squared error instead of calling clipped_value_loss."""
FAILS = ["test_ppo_update_reports_losses", "test_ppo_update_step"]
PATCH = [("""        value_loss = clipped_value_loss(value, batch["values"][mb], batch["returns"][mb],
                                        clip_eps)""",
          """        value_loss = 0.5 * ((value - batch["returns"][mb]) ** 2).mean()  # wrong: unclipped""")]
