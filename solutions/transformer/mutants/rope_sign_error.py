"""RoPE with a sign error (x'[2i] = x[2i] cos + x[2i+1] sin): no longer a rotation."""
FAILS = ["test_rope_formula", "test_rope_relative_property"]

import torch


def apply_rope(x):
    T, d = x.shape[-2], x.shape[-1]
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    theta = pos * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    cos, sin = theta.cos(), theta.sin()
    xe, xo = x[..., 0::2], x[..., 1::2]
    return torch.stack([xe * cos + xo * sin, xe * sin + xo * cos], dim=-1).flatten(-2)
