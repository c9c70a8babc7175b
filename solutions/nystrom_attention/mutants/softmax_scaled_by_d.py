"""softmax_attention divides the scores by d instead of sqrt(d)."""
FAILS = ["test_softmax_attention"]

import torch


def softmax_attention(q, k, v):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    return torch.softmax(scores, dim=-1) @ v
