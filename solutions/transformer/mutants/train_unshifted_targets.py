"""train_lm uses the input window itself as targets (no shift by one): the model learns to copy."""
FAILS = ["test_train_lm_contract"]

import torch


def train_lm(model, tokens, steps, batch_size, lr, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    bs = model.block_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, tokens.numel() - bs, (batch_size,), generator=gen)
        x = torch.stack([tokens[s:s + bs] for s in starts.tolist()])  # (B, bs)
        y = x  # wrong: targets must be tokens[s + 1:s + bs + 1]
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
