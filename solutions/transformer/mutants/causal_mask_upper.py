"""Causal mask built with triu: every position attends to the future instead of the past."""
FAILS = ["test_causal_mask"]

import torch


def causal_mask(T):
    return torch.triu(torch.ones(T, T, dtype=torch.bool))
