"""nystrom_attention calls iterative_pinv(kernel_a) without passing n_iter on: always 6 iterations."""
FAILS = ["test_nystrom_matches_the_formula", "test_nystrom_exact_when_landmarks_are_tokens"]

import math

import torch


def nystrom_attention(q, k, v, num_landmarks, n_iter=6):
    scale = 1.0 / math.sqrt(q.shape[-1])
    q_land = segment_means(q, num_landmarks)
    k_land = segment_means(k, num_landmarks)
    kernel_f = torch.softmax(q @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_a = torch.softmax(q_land @ k_land.transpose(-2, -1) * scale, dim=-1)
    kernel_b = torch.softmax(q_land @ k.transpose(-2, -1) * scale, dim=-1)
    return kernel_f @ (iterative_pinv(kernel_a) @ (kernel_b @ v))  # n_iter not passed on
