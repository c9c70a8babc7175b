"""Public tests of the `transformer` module: quick shape and sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite checks
values against PyTorch's own layers, causality, sampling and training.
"""
import math

import pytest
import torch


@pytest.mark.points(0)
def test_public_attention_shapes(submission):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 5)
    out, weights = submission.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4, 5), "out must have shape (..., T_q, d_v)"
    assert weights.shape == (2, 3, 4, 6), "weights must have shape (..., T_q, T_k)"
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 4), atol=1e-5), (
        "every row of weights must sum to 1 (softmax over the keys)"
    )


@pytest.mark.points(0)
def test_public_causal_mask_small(submission):
    expected = torch.tensor([[True, False, False],
                             [True, True, False],
                             [True, True, True]])
    mask = submission.causal_mask(3)
    assert mask.dtype == torch.bool, "causal_mask must return a bool tensor"
    assert torch.equal(mask, expected), (
        "causal_mask(3) must be True on and below the diagonal (position t sees s <= t)"
    )


@pytest.mark.points(0)
def test_public_position_encodings(submission):
    pe = submission.sinusoidal_positions(10, 8)
    assert pe.shape == (10, 8), "sinusoidal_positions(T, d) must have shape (T, d)"
    assert torch.allclose(pe[0], torch.tensor([0.0, 1.0] * 4), atol=1e-6), (
        "at position 0 the sines are 0 and the cosines 1: PE[0] = [0, 1, 0, 1, ...]"
    )
    assert abs(pe[1, 0].item() - math.sin(1.0)) < 1e-5, "PE[1, 0] must be sin(1)"
    x = torch.randn(2, 5, 8)
    y = submission.apply_rope(x)
    assert y.shape == x.shape, "apply_rope must keep the shape of x"
    assert torch.allclose(y[:, 0], x[:, 0], atol=1e-6), "apply_rope must leave position 0 unchanged"


@pytest.mark.points(0)
def test_public_layer_shapes(submission):
    x = torch.randn(2, 5, 16)
    mha = submission.MultiHeadAttention(16, 4)
    assert mha(x).shape == (2, 5, 16), "MultiHeadAttention must map (B, T, d) to (B, T, d)"
    block = submission.TransformerBlock(16, 4, 64)
    mask = submission.causal_mask(5)
    assert block(x, mask).shape == (2, 5, 16), "TransformerBlock must map (B, T, d) to (B, T, d)"


@pytest.mark.points(0)
def test_public_gpt_shapes(submission):
    V = 17
    model = submission.GPT(V, 8, 32, 4, 2)
    idx = torch.randint(0, V, (3, 8))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, V), "logits must have shape (B, T, vocab_size)"
    assert loss.dim() == 0 and abs(loss.item() - math.log(V)) < 1.0, (
        "at initialisation the loss should be a scalar close to ln(vocab_size)"
    )
    assert model(idx)[1] is None, "without targets the loss must be None"
    out = model.generate(idx[:, :2], 10)
    assert out.shape == (3, 12), "generate must append max_new_tokens tokens (and crop the context)"


@pytest.mark.points(0)
def test_public_training_pieces(submission):
    tokens = torch.arange(50)
    x, y = submission.get_batch(tokens, 8, 4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 8) and y.shape == (4, 8), "get_batch must return (B, block_size) twice"
    assert torch.equal(y[:, :-1], x[:, 1:]), "y must be x shifted by one position"
    model = submission.BigramLM(50, 8)
    optimizer = submission.make_optimizer(model, 0.1)
    loss = submission.lm_step(model, optimizer, x, y)
    assert isinstance(loss, float), "lm_step must return the loss as a Python float"
    losses = submission.train_lm(model, tokens, 3, 4, 0.1, 0)
    assert isinstance(losses, list) and len(losses) == 3, "train_lm must return one loss per step"
