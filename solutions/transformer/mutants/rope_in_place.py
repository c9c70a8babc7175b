"""apply_rope rotates the caller's tensor in place (and returns it): correct values, clobbered input."""
FAILS = ["test_inputs_left_unmodified"]

import torch


def apply_rope(x):
    T, d = x.shape[-2], x.shape[-1]
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    theta = pos * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    cos, sin = theta.cos().to(x.dtype), theta.sin().to(x.dtype)
    x_even, x_odd = x[..., 0::2].clone(), x[..., 1::2].clone()
    x[..., 0::2] = x_even * cos - x_odd * sin  # writes into the caller's tensor
    x[..., 1::2] = x_even * sin + x_odd * cos
    return x
