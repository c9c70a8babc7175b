"""Causal mask without the diagonal (tril with diagonal=-1): a token may not attend to itself."""
FAILS = ["test_causal_mask"]

import torch


def causal_mask(T):
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
    mask[0, 0] = True  # keep the first row from being empty
    return mask
