"""train_lm creates its generator without seeding it: the seed argument is ignored."""
FAILS = ["test_train_lm_contract"]
PATCH = [("gen = torch.Generator(device=tokens.device).manual_seed(seed)",
          "gen = torch.Generator(device=tokens.device)")]
