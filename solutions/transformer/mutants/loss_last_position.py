"""GPT loss computed only on the last position instead of the mean over all B * T positions."""
FAILS = ["test_gpt_logits_and_loss"]

import torch.nn.functional as F


class GPT(GPT):  # the reference GPT, with the loss of forward replaced
    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits[:, -1, :], targets[:, -1])  # only t = T-1
        return logits, loss
