"""GPT forgets to add the position embedding: the model cannot tell positions apart."""
FAILS = ["test_gpt_uses_positions"]

import torch.nn.functional as F


class GPT(GPT):  # the reference GPT, with forward rewritten without pos_emb
    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.drop(self.tok_emb(idx))  # (B, T, d_model), no position information
        mask = causal_mask(T)
        for block in self.blocks:
            x = block(x, mask)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss
