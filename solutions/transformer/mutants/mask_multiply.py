"""Mask applied by multiplying the logits (blocked logits become 0, not -inf)."""
FAILS = ["test_attention_matches_pytorch", "test_attention_mask_convention"]

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask  # exp(0) = 1: blocked keys still get weight
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
