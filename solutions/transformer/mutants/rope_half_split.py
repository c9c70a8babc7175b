"""RoPE rotating the pairs (i, i + d/2) (GPT-NeoX layout) instead of neighbours (2i, 2i+1)."""
FAILS = ["test_rope_formula"]

import torch


def apply_rope(x):
    T, d = x.shape[-2], x.shape[-1]
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    theta = pos * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    cos, sin = theta.cos(), theta.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]  # wrong pairing for this API
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
