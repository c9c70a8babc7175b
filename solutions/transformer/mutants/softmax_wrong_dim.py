"""Softmax taken over the queries (dim=-2) instead of the keys (dim=-1)."""
FAILS = ["test_attention_matches_pytorch", "test_attention_scaling", "test_attention_mask_convention"]

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-2)  # wrong axis: normalises over queries
    return weights @ v, weights
