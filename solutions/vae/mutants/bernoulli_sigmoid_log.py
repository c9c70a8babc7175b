"""Bernoulli log-likelihood via log(sigmoid(logits)): -inf / nan for confident logits."""
FAILS = ["test_bernoulli_log_likelihood_extreme_logits"]

import torch


def bernoulli_log_likelihood(logits, x):
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=-1)
