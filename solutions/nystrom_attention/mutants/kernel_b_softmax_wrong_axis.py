"""nystrom_attention normalises the kernel B = softmax(q~ k^T) over the landmarks (dim=-2), not the keys.

All three are tests of nystrom_attention: in the cost test every key is repeated 16 times,
and weights normalised over the landmarks instead of the keys make B v, and so the output,
16 times larger than on the distinct tokens (correct weights sum to 1 over the keys).
"""
FAILS = ["test_nystrom_matches_the_formula", "test_nystrom_exact_when_landmarks_are_tokens", "test_nystrom_cost_linear_in_T"]

import math

import torch


def nystrom_attention(q, k, v, num_landmarks, n_iter=6):
    scale = 1.0 / math.sqrt(q.shape[-1])
    q_land = segment_means(q, num_landmarks)
    k_land = segment_means(k, num_landmarks)
    kernel_f = torch.softmax(q @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_a = torch.softmax(q_land @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_b = torch.softmax(q_land @ k.transpose(-2, -1) * scale, dim=-2)  # wrong axis
    return kernel_f @ (iterative_pinv(kernel_a, n_iter) @ (kernel_b @ v))
