"""Bernoulli log-likelihood as -F.binary_cross_entropy(sigmoid(logits), x): clamped at -100 per pixel."""
FAILS = ["test_bernoulli_log_likelihood_extreme_logits"]

import torch
import torch.nn.functional as F


def bernoulli_log_likelihood(logits, x):
    bce = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none")
    return -bce.sum(dim=-1)
