"""Mask convention inverted: True treated as 'blocked' (nn.MultiheadAttention's convention)."""
FAILS = ["test_attention_matches_pytorch", "test_attention_mask_convention"]

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))  # blocks the allowed keys
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
