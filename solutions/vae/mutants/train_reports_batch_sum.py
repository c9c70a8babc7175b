"""train_vae reports the mean over batches of the loss SUMMED over each batch (not per example)."""
FAILS = ["test_train_vae_contract"]

import torch


def train_vae(model, data, epochs, batch_size, lr, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    N = data.shape[0]
    losses = []
    for _ in range(epochs):
        order = torch.randperm(N, generator=gen)
        batch_losses = []
        for start in range(0, N, batch_size):
            x = data[order[start:start + batch_size]]
            loss = -elbo(model, x).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item() * x.shape[0])  # a batch total, not per example
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses
