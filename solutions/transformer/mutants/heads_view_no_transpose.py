"""Heads split with view(B, H, T, d_head) directly (no transpose): heads mix positions and features."""
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
        q = self.q_proj(x).view(B, H, T, dh)  # wrong: memory is laid out (B, T, H, dh)
        k = self.k_proj(x).view(B, H, T, dh)
        v = self.v_proj(x).view(B, H, T, dh)
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        out = out.reshape(B, T, self.d_model)
        return self.dropout(self.out_proj(out))
