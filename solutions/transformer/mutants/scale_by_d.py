"""Attention logits divided by d_k instead of sqrt(d_k)."""
FAILS = [
    "test_attention_matches_pytorch",
    "test_attention_scaling",
    "test_attention_mask_convention",
    "test_mha_matches_torch_multihead",
    "test_mha_respects_mask",
]

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]  # should be sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
