"""A correct `nystrom_attention` submission written differently from the reference.

The hidden suite must give it full marks. Where the reference uses matrix products and
torch.softmax, this one uses einsum and a hand-written softmax; the segment means are a
product with an (m, T) averaging matrix; the pseudo-inverse takes its norms from
torch.linalg.matrix_norm and applies the iteration from the left,
Z <- 1/4 (13I - ZA (15I - ZA (7I - ZA))) Z (equal to the paper's form because
Z p(AZ) = p(ZA) Z); the kernels scale q and k by d^(-1/4) each, as the official code
does, with that factor built as a float32 tensor (a correct choice the suite's tolerances
must accept: it rounds the scale to float32 precision, about 3e-8 relative, even for
float64 inputs, whose dtype it keeps because a 0-dim tensor does not promote); the layer
keeps its settings under other attribute names, splits heads with unflatten/permute and
merges them with permute/flatten.
"""
import math

import torch
import torch.nn as nn


def _softmax_last(scores):
    """Numerically stable softmax over the last axis, written out by hand."""
    e = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def softmax_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v with einsum."""
    root = torch.tensor(q.shape[-1], dtype=torch.float32).sqrt()  # 0-dim float32
    scores = torch.einsum("...td,...sd->...ts", q, k) / root  # (..., T, T), dtype of q
    return torch.einsum("...ts,...se->...te", _softmax_last(scores), v)  # (..., T, d_v)


def segment_means(x, num_landmarks):
    """Means of contiguous segments as a product with an (m, T) averaging matrix."""
    T = x.shape[-2]
    if num_landmarks <= 0 or T % num_landmarks:
        raise ValueError(f"cannot split T={T} tokens into {num_landmarks} equal segments")
    seg = T // num_landmarks
    owner = torch.arange(T, device=x.device) // seg  # (T,) segment of every position
    average = (owner[None, :] == torch.arange(num_landmarks, device=x.device)[:, None])
    average = average.to(x.dtype) / seg  # (m, T)
    return torch.einsum("mt,...td->...md", average, x)  # (..., m, d)


def iterative_pinv(a, n_iter=6):
    """The paper's iteration applied from the left; norms from torch.linalg per matrix."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)  # (m, m)
    scale = torch.linalg.matrix_norm(a, ord=1) * torch.linalg.matrix_norm(a, ord=math.inf)  # (...,)
    z = a.mT / scale.unsqueeze(-1).unsqueeze(-1)  # (..., m, m)
    for _ in range(n_iter):
        za = torch.einsum("...ij,...jk->...ik", z, a)  # (..., m, m)
        poly = 13 * eye - za @ (15 * eye - za @ (7 * eye - za))  # (..., m, m)
        z = torch.einsum("...ij,...jk->...ik", poly, z) / 4
    return z


def nystrom_attention(q, k, v, num_landmarks, n_iter=6):
    """F (Z (B v)) with q and k each scaled by d^(-1/4)."""
    root = torch.tensor(q.shape[-1] ** 0.25, dtype=torch.float32)  # 0-dim: keeps q's dtype
    q, k = q / root, k / root  # new tensors: the caller's q and k stay as they were
    q_land, k_land = segment_means(q, num_landmarks), segment_means(k, num_landmarks)  # (..., m, d)
    kernel_f = _softmax_last(torch.einsum("...td,...md->...tm", q, k_land))  # (..., T, m)
    kernel_a = _softmax_last(torch.einsum("...nd,...md->...nm", q_land, k_land))  # (..., m, m)
    kernel_b = _softmax_last(torch.einsum("...md,...td->...mt", q_land, k))  # (..., m, T)
    bv = torch.einsum("...mt,...te->...me", kernel_b, v)  # (..., m, d_v)
    zbv = torch.einsum("...nm,...me->...ne", iterative_pinv(kernel_a, n_iter), bv)  # (..., m, d_v)
    return torch.einsum("...tn,...ne->...te", kernel_f, zbv)  # (..., T, d_v)


class NystromSelfAttention(nn.Module):
    """Multi-head Nystrom self-attention with a depthwise convolution skip on the values."""

    def __init__(self, d_model, n_heads, num_landmarks, n_iter=6, conv_kernel=33):
        super().__init__()
        assert d_model % n_heads == 0
        self.heads, self.landmarks, self.iterations = n_heads, num_landmarks, n_iter
        self.q_proj, self.k_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.v_proj, self.out_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.conv = nn.Conv2d(n_heads, n_heads, kernel_size=(conv_kernel, 1),
                              padding=(conv_kernel // 2, 0), groups=n_heads, bias=False)

    def _split(self, y):
        return y.unflatten(-1, (self.heads, -1)).permute(0, 2, 1, 3)  # (B, H, T, dh)

    def forward(self, x):
        q, k, v = (self._split(proj(x)) for proj in (self.q_proj, self.k_proj, self.v_proj))
        heads = nystrom_attention(q, k, v, self.landmarks, self.iterations) + self.conv(v)
        return self.out_proj(heads.permute(0, 2, 1, 3).flatten(-2))  # (B, T, d_model)
