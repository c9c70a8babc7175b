"""train_ppo ignores its seed argument (a fixed seed for torch and the environments): every seed gives the same run."""
FAILS = ["test_train_ppo_seeds_honoured"]
PATCH = [("    torch.manual_seed(seed)\n", "    torch.manual_seed(0)  # wrong: the seed argument ignored\n"),
         ("obs, _ = envs.reset(seed=seed)", "obs, _ = envs.reset(seed=0)")]
