"""train_vae shuffles the caller's data tensor in place (data[:] = data[order]) instead of an index."""
FAILS = ["test_arguments_not_modified"]

PATCH = [("        order = torch.randperm(N, generator=gen, device=data.device)  # (N,)\n",
          "        data[:] = data[torch.randperm(N, generator=gen, device=data.device)]\n"
          "        order = torch.arange(N, device=data.device)  # the data itself is shuffled\n")]
