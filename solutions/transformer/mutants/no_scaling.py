"""Attention logits not scaled: softmax(q k^T) v instead of softmax(q k^T / sqrt(d_k)) v."""
FAILS = ["test_attention_matches_pytorch", "test_attention_scaling"]

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)  # (..., T_q, T_k), forgot / sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
