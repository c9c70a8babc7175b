"""GPT loss summed over positions (reduction='sum') instead of averaged."""
FAILS = ["test_gpt_logits_and_loss"]

import torch.nn.functional as F


class GPT(GPT):  # the reference GPT, with the loss of forward replaced
    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None
        if targets is not None:
            B, T, V = logits.shape
            loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T), reduction="sum")
        return logits, loss
