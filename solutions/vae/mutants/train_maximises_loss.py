"""train_vae minimises the ELBO itself (loss = elbo.mean()): gradient ascent on -ELBO."""
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
        total = 0.0
        for start in range(0, N, batch_size):
            x = data[order[start:start + batch_size]]
            values = elbo(model, x)
            loss = values.mean()  # wrong sign: this pushes the ELBO down
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += -values.sum().item()
        losses.append(total / N)
    return losses
