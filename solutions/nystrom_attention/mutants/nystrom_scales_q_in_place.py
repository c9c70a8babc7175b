"""nystrom_attention scales the caller's queries in place (q /= sqrt(d)) before the kernels: right values, the caller's q changed."""
FAILS = ["test_inputs_left_unmodified"]

import math

import torch


def nystrom_attention(q, k, v, num_landmarks, n_iter=6):
    q /= math.sqrt(q.shape[-1])  # in place: the caller's tensor is divided too
    q_land = segment_means(q, num_landmarks)
    k_land = segment_means(k, num_landmarks)
    kernel_f = torch.softmax(q @ k_land.transpose(-2, -1), dim=-1)
    kernel_a = torch.softmax(q_land @ k_land.transpose(-2, -1), dim=-1)
    kernel_b = torch.softmax(q_land @ k.transpose(-2, -1), dim=-1)
    return kernel_f @ (iterative_pinv(kernel_a, n_iter) @ (kernel_b @ v))
