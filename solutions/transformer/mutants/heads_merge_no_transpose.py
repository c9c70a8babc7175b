"""Heads split correctly but merged with reshape(B, T, d_model) without transposing back."""
FAILS = ["test_mha_matches_torch_multihead", "test_mha_respects_mask"]

import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        B, T, _ = x.shape
        H, dh = self.n_heads, self.d_head
        q = self.q_proj(x).view(B, T, H, dh).transpose(1, 2)
        k = self.k_proj(x).view(B, T, H, dh).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, dh).transpose(1, 2)
        out, _ = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, dh)
        out = out.reshape(B, T, self.d_model)  # wrong: needs transpose(1, 2) first
        return self.dropout(self.out_proj(out))
