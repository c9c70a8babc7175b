"""Attention logits divided by d_k instead of sqrt(d_k)."""
FAILS = ["test_attention_matches_pytorch", "test_attention_scaling"]

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]  # should be sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
