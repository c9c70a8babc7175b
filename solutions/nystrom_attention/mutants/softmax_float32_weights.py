"""softmax_attention computes the weights with torch.softmax(scores, dim=-1, dtype=torch.float32) (a mixed-precision habit): float64 inputs fail."""
FAILS = ["test_softmax_attention", "test_dtype_kept"]

import math

import torch


def softmax_attention(q, k, v):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return torch.softmax(scores, dim=-1, dtype=torch.float32) @ v
