"""A correct `dp_sgd` submission written differently from the reference.

The hidden suite must give it full marks. Where the reference vectorises per-example
gradients with torch.func, this one loops with torch.autograd.grad; clipping sums squared
norms tensor by tensor; the noise comes from torch.normal and the batches from
torch.bernoulli; the accountant is vectorised over k with torch (float64 logsumexp, the
signed fractional series split into its positive and negative parts, log erfc through
torch.special.log_ndtr) where the reference loops in plain Python; the noise search
checks the floor of epsilon (rho = 0) first and bisects on log(sigma) from a fixed
bracket; the step writes the noisy gradient into .grad and steps a torch.optim.SGD,
and its clipped sum is one einsum over the examples.
"""
import math

import torch
import torch.nn.functional as F

DEFAULT_ORDERS = [1 + x / 10 for x in range(1, 100)] + list(range(12, 64))


# ---------------------------------------------------------------- gradients, clipping, noise


def per_sample_gradients(model, loss_fn, x, y):
    """One autograd.grad call per example (no .grad side effects)."""
    names = [name for name, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    per_example = []
    for i in range(x.shape[0]):
        loss = loss_fn(model(x[i:i + 1]), y[i:i + 1])
        per_example.append(torch.autograd.grad(loss, params))
    return {name: torch.stack([g[k] for g in per_example]).detach() for k, name in enumerate(names)}


def clip_per_sample(grads, max_norm):
    squared = 0.0
    for g in grads.values():
        squared = squared + (g * g).flatten(start_dim=1).sum(dim=1)  # (B,)
    norms = torch.sqrt(squared)
    factor = torch.where(norms + 1e-6 > max_norm, max_norm / (norms + 1e-6), torch.ones_like(norms))
    out = {}
    for name, g in grads.items():
        out[name] = torch.einsum("b...,b->b...", g, factor)
    return out


def privatize(clipped_grads, max_norm, noise_multiplier, expected_batch_size, generator):
    std = float(noise_multiplier * max_norm)
    out = {}
    for name, g in clipped_grads.items():
        shape = tuple(g.shape[1:])
        noise = torch.normal(0.0, 1.0, size=shape, generator=generator,
                             device=generator.device).to(g.device) * std
        summed = g.sum(dim=0) if g.shape[0] else torch.zeros(shape, dtype=g.dtype)
        out[name] = (summed + noise) * (1.0 / expected_batch_size)
    return out


def poisson_batches(n, sample_rate, steps, generator):
    probs = torch.full((steps, n), float(sample_rate), device=generator.device)
    coins = torch.bernoulli(probs, generator=generator).bool()  # (T, N), all at once
    index = torch.arange(n, dtype=torch.int64)
    return [index[row.cpu()] for row in coins]


# ---------------------------------------------------------------- accountant


def _log_erfc(x):
    """log erfc(x) = log 2 + log Phi(-x sqrt 2), elementwise on a float64 tensor."""
    return math.log(2.0) + torch.special.log_ndtr(-x * math.sqrt(2.0))


def _log_a_int(q, sigma, alpha):
    k = torch.arange(alpha + 1, dtype=torch.float64)
    log_binom = math.lgamma(alpha + 1) - torch.lgamma(k + 1) - torch.lgamma(alpha - k + 1)
    terms = log_binom + k * math.log(q) + (alpha - k) * math.log1p(-q) + (k * k - k) / (2 * sigma ** 2)
    return torch.logsumexp(terms, dim=0).item()


def _signed_binomials(alpha, count):
    """log |C(alpha, k)| and sign, k = 0..count-1, from the running product."""
    k = torch.arange(count, dtype=torch.float64)
    factors = (alpha - k[:-1]) / (k[:-1] + 1)  # C(alpha, k+1) / C(alpha, k)
    log_abs = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(torch.log(factors.abs()), 0)])
    negatives = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum((factors < 0).double(), 0)])
    sign = 1.0 - 2.0 * torch.remainder(negatives, 2)
    return log_abs, sign


def _log_a_frac(q, sigma, alpha):
    z0 = sigma ** 2 * math.log(1 / q - 1) + 0.5
    count = 64
    while True:
        k = torch.arange(count, dtype=torch.float64)
        j = alpha - k
        log_abs, sign = _signed_binomials(alpha, count)
        s0 = (log_abs + k * math.log(q) + j * math.log1p(-q) + (k * k - k) / (2 * sigma ** 2)
              + math.log(0.5) + _log_erfc((k - z0) / (math.sqrt(2) * sigma)))
        s1 = (log_abs + j * math.log(q) + k * math.log1p(-q) + (j * j - j) / (2 * sigma ** 2)
              + math.log(0.5) + _log_erfc((z0 - j) / (math.sqrt(2) * sigma)))
        small = torch.maximum(s0, s1) < -30
        if small.any():
            stop = int(torch.nonzero(small)[0]) + 1  # the first k where both are tiny, included
            break
        count *= 2
    s = torch.cat([s0[:stop], s1[:stop]])
    sg = torch.cat([sign[:stop], sign[:stop]])
    positive = torch.logsumexp(s[sg > 0], dim=0).item()
    if not (sg < 0).any():
        return positive
    negative = torch.logsumexp(s[sg < 0], dim=0).item()
    return positive + math.log1p(-math.exp(negative - positive))


def rdp_sampled_gaussian(q, sigma, orders):
    values = []
    for alpha in orders:
        alpha = float(alpha)
        if q == 0:
            values.append(0.0)
        elif sigma == 0:
            values.append(float("inf"))
        elif q == 1:
            values.append(alpha / (2 * sigma * sigma))
        elif alpha == int(alpha):
            values.append(_log_a_int(q, sigma, int(alpha)) / (alpha - 1))
        else:
            values.append(_log_a_frac(q, sigma, alpha) / (alpha - 1))
    return values


def epsilon(q, sigma, steps, delta, orders=None):
    alphas = torch.tensor(DEFAULT_ORDERS if orders is None else list(orders), dtype=torch.float64)
    rdp = torch.tensor(rdp_sampled_gaussian(q, sigma, alphas.tolist()), dtype=torch.float64)
    eps = (steps * rdp - (math.log(delta) + torch.log(alphas)) / (alphas - 1)
           + torch.log((alphas - 1) / alphas))
    eps = eps[~torch.isnan(eps)]
    return float(eps.min()) if eps.numel() else float("inf")


def noise_multiplier_for(target_epsilon, delta, q, steps):
    alphas = torch.tensor(DEFAULT_ORDERS, dtype=torch.float64)
    lowest = float((torch.log1p(-1 / alphas) - (math.log(delta) + torch.log(alphas)) / (alphas - 1)).min())
    if target_epsilon <= lowest:
        raise ValueError(f"budget too low: no noise reaches epsilon {target_epsilon}; the smallest "
                         f"reachable epsilon at this delta is {lowest:.4f}")
    log_lo, log_hi = math.log(1e-2), math.log(1e2)
    while epsilon(q, math.exp(log_hi), steps, delta) > target_epsilon:
        if log_hi > math.log(1e6):
            raise ValueError("no noise multiplier up to 1e6 reaches this epsilon: the budget is too "
                             f"low (smallest reachable about {epsilon(q, 1e6, steps, delta):.4f})")
        log_hi += math.log(10)
    while epsilon(q, math.exp(log_lo), steps, delta) <= target_epsilon:
        log_lo -= math.log(10)
    while log_hi - log_lo > math.log(1.008):
        log_mid = 0.5 * (log_lo + log_hi)
        if epsilon(q, math.exp(log_mid), steps, delta) > target_epsilon:
            log_lo = log_mid
        else:
            log_hi = log_mid
    return math.exp(log_hi)


# ---------------------------------------------------------------- training


def dp_step(model, loss_fn, x, y, max_norm, noise_multiplier, expected_batch_size, lr, noise):
    named = list(model.named_parameters())
    if len(x):
        per_example = clip_per_sample(per_sample_gradients(model, loss_fn, x, y), max_norm)
        ones = torch.ones(len(x), dtype=named[0][1].dtype, device=named[0][1].device)
        summed = {name: torch.einsum("b...,b->...", per_example[name], ones) for name, _ in named}
    else:
        summed = {name: torch.zeros_like(p) for name, p in named}
    scale = float(noise_multiplier) * float(max_norm)
    optimizer = torch.optim.SGD([p for _, p in named], lr=lr)
    optimizer.zero_grad()
    for name, p in named:
        p.grad = ((summed[name] + scale * noise[name].to(device=p.device, dtype=p.dtype))
                  / expected_batch_size).to(p.dtype)
    optimizer.step()
    for _, p in named:
        p.grad = None


def train_dp(model, x, y, epochs, sample_rate, max_norm, noise_multiplier, lr, delta, seed):
    gen = torch.Generator()
    gen.manual_seed(seed)
    steps = int(epochs * round(1.0 / sample_rate))
    named = list(model.named_parameters())
    for indices in poisson_batches(len(x), sample_rate, steps, gen):
        noise = {name: torch.normal(0.0, 1.0, size=tuple(p.shape), generator=gen) for name, p in named}
        dp_step(model, F.cross_entropy, x[indices], y[indices], max_norm, noise_multiplier,
                sample_rate * len(x), lr, noise)
    with torch.no_grad():
        correct = int((model(x).argmax(-1) == y).sum())
    return {"accuracy": correct / len(y), "epsilon": epsilon(sample_rate, noise_multiplier, steps, delta)}
