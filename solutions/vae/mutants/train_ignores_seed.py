"""train_vae ignores its seed: it shuffles and draws eps from the global RNG, never seeded."""
FAILS = ["test_train_vae_seed"]

PATCH = [("order = torch.randperm(N, generator=gen, device=data.device)",
          "order = torch.randperm(N, device=data.device)"),
         ("eps = torch.randn(x.shape[0], model.z_dim, generator=gen, device=data.device,",
          "eps = torch.randn(x.shape[0], model.z_dim, device=data.device,")]
