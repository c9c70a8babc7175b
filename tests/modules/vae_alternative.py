"""A correct `vae` submission written differently from the reference.

The hidden suite must give it full marks. Where the reference writes z = mu + std * eps,
this one calls `Normal(mu, std).rsample()`; the KL uses Kingma & Welling's form
-1/2 sum(1 + logvar - mu^2 - exp(logvar)); the log-likelihood is minus PyTorch's binary
cross-entropy with logits; the encoder is one linear layer whose output is split into
mu and logvar, with tanh hidden units as in the paper; the ELBO builds its sample
inline instead of calling reparameterize; the IWAE bound loops over the k samples, uses
`torch.distributions` log-densities and a hand-written log-mean-exp; the step sums the
negative ELBO and divides by the batch size, with `zero_grad()`'s default; training
draws the shuffling and the noise from two generators seeded from `seed` and walks over
`torch.split` chunks of a permutation.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal


def reparameterize(mu, logvar, eps=None):
    """z ~ N(mu, exp(logvar)) through torch.distributions' reparameterised sampler, or
    the given noise."""
    if eps is None:
        return Normal(mu, torch.exp(logvar / 2)).rsample()  # same shape as mu
    return torch.addcmul(mu, eps, torch.exp(logvar / 2))


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
        self.x_dim, self.z_dim = x_dim, z_dim
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


def elbo(model, x, eps=None):
    """One reparameterised sample per example (built here), closed-form KL: (B,)."""
    mu, logvar = model.encode(x)
    noise = torch.randn_like(mu) if eps is None else eps
    z = mu + noise * (0.5 * logvar).exp()
    return bernoulli_log_likelihood(model.decode(z), x) - gaussian_kl(mu, logvar)


def iwae_bound(model, x, k, eps=None):
    """log (1/k) sum_i w_i with the k samples taken one at a time."""
    mu, logvar = model.encode(x)
    q = Normal(mu, torch.exp(0.5 * logvar))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    log_w = []
    for i in range(k):
        z = q.rsample() if eps is None else mu + eps[i] * q.scale  # (B, z_dim)
        log_w.append(bernoulli_log_likelihood(model.decode(z), x)
                     + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1))
    log_w = torch.stack(log_w, dim=1)  # (B, k)
    top = log_w.max(dim=1, keepdim=True).values  # (B, 1)
    return top.squeeze(1) + torch.log(torch.exp(log_w - top).mean(dim=1))  # (B,)


def vae_step(model, optimizer, x, eps):
    """Sum of the per-example losses divided by B, zero_grad's default (set to None)."""
    optimizer.zero_grad()
    neg = -elbo(model, x, eps)  # (B,)
    total = neg.sum() / x.shape[0]
    total.backward()
    optimizer.step()
    return float(total.detach())


def train_vae(model, data, epochs, batch_size, lr, seed):
    """Adam on -ELBO; returns the per-example mean negative ELBO of every epoch."""
    shuffler = torch.Generator(device=data.device).manual_seed(seed)
    noise = torch.Generator(device=data.device).manual_seed(seed + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        seen, summed = 0, 0.0
        perm = torch.randperm(len(data), generator=shuffler, device=data.device)
        for idx in torch.split(perm, batch_size):
            batch = data[idx]
            eps = torch.randn((len(idx), model.z_dim), generator=noise, device=data.device)
            summed += vae_step(model, optimizer, batch, eps) * len(idx)
            seen += len(idx)
        history.append(summed / seen)
    return history
