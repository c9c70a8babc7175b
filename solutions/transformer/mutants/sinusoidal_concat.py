"""Sinusoidal encoding laid out as [sin | cos] halves instead of interleaved columns."""
FAILS = ["test_sinusoidal_positions"]

import torch


def sinusoidal_positions(T, d):
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    angle = pos / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)
