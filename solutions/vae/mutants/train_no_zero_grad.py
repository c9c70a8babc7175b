"""train_vae never calls optimizer.zero_grad(): gradients accumulate over all previous steps."""
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
            loss = -elbo(model, x).mean()
            loss.backward()  # no zero_grad: .grad keeps the sum of every step so far
            optimizer.step()
            total += loss.item() * x.shape[0]
        losses.append(total / N)
    return losses
