"""NystromSelfAttention calls nystrom_attention without its n_iter: always the default 6 iterations."""
FAILS = ["test_conv_skip", "test_self_attention_matches_the_formula"]


class NystromSelfAttention(NystromSelfAttention):  # the reference layer, forward replaced
    def forward(self, x):
        B, T, _ = x.shape
        H, dh = self.n_heads, self.d_head
        q = self.q_proj(x).view(B, T, H, dh).transpose(1, 2)
        k = self.k_proj(x).view(B, T, H, dh).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, dh).transpose(1, 2)
        out = nystrom_attention(q, k, v, self.num_landmarks) + self.conv(v)  # n_iter dropped
        return self.out_proj(out.transpose(1, 2).reshape(B, T, self.d_model))
