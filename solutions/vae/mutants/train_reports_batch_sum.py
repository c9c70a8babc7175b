"""train_vae reports the mean over batches of the loss SUMMED over each batch (not per example)."""
FAILS = ["test_train_vae_contract"]

PATCH = [("losses.append(total / N)",
          "losses.append(total / math.ceil(N / batch_size))")]  # batch totals, averaged
