"""train_dp ignores its seed argument: the generator keeps torch's default seed."""
FAILS = ["test_train_dp_contract"]
PATCH = [("    generator = torch.Generator().manual_seed(seed)\n", "    generator = torch.Generator()\n")]
