"""A correct `vae` submission written differently from the reference.

The hidden suite must give it full marks. Where the reference writes z = mu + std * eps,
this one calls `Normal(mu, std).rsample()`; the KL uses Kingma & Welling's form
-1/2 sum(1 + logvar - mu^2 - exp(logvar)); the log-likelihood is minus PyTorch's binary
cross-entropy with logits; the encoder is one linear layer whose output is split into
mu and logvar, with tanh hidden units as in the paper; the ELBO calls encode/decode
directly instead of forward; the IWAE bound loops over the k samples, uses
`torch.distributions` log-densities and a hand-written log-mean-exp; training walks
over `torch.split` chunks of a permutation.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal


def reparameterize(mu, logvar):
    """z ~ N(mu, exp(logvar)) through torch.distributions' reparameterised sampler."""
    return Normal(mu, torch.exp(logvar / 2)).rsample()  # same shape as mu


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) in Kingma & Welling's appendix-B form, (B,)."""
    return -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=-1)


def bernoulli_log_likelihood(logits, x):
    """Minus the binary cross-entropy with logits, summed over the pixels: (B,)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


class VAE(nn.Module):
    """tanh MLPs; the encoder's last layer outputs [mu | logvar] in one tensor."""

    def __init__(self, x_dim, z_dim, hidden_dim):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(x_dim, hidden_dim), nn.Tanh(),
                                 nn.Linear(hidden_dim, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(z_dim, hidden_dim), nn.Tanh(),
                                 nn.Linear(hidden_dim, x_dim))

    def encode(self, x):
        mu, logvar = torch.chunk(self.enc(x), 2, dim=-1)  # (B, z_dim) each
        return mu, logvar

    def decode(self, z):
        return self.dec(z)  # (..., x_dim) logits

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar)), mu, logvar


def elbo(model, x):
    """One reparameterised sample per example, closed-form KL: (B,)."""
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar)
    return bernoulli_log_likelihood(model.decode(z), x) - gaussian_kl(mu, logvar)


def iwae_bound(model, x, k):
    """log (1/k) sum_i w_i with the k samples drawn one at a time."""
    mu, logvar = model.encode(x)
    q = Normal(mu, torch.exp(0.5 * logvar))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    log_w = []
    for _ in range(k):
        z = q.rsample()  # (B, z_dim)
        log_w.append(bernoulli_log_likelihood(model.decode(z), x)
                     + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1))
    log_w = torch.stack(log_w, dim=1)  # (B, k)
    top = log_w.max(dim=1, keepdim=True).values  # (B, 1)
    return top.squeeze(1) + torch.log(torch.exp(log_w - top).mean(dim=1))  # (B,)


def train_vae(model, data, epochs, batch_size, lr, seed):
    """Adam on -ELBO; returns the per-example mean negative ELBO of every epoch."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        seen, summed = 0, 0.0
        for idx in torch.split(torch.randperm(len(data), generator=generator), batch_size):
            batch = data[idx]
            neg = -elbo(model, batch)  # (B,)
            optimizer.zero_grad()
            (neg.sum() / len(idx)).backward()
            optimizer.step()
            summed += float(neg.detach().sum())
            seen += len(idx)
        history.append(summed / seen)
    return history
