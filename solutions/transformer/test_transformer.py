"""Hidden suite of the `transformer` module (a GPT from scratch).

Fixtures (engine plugin): `submission` (the student's definitions), `reference`
(unused here: every expected value comes from PyTorch's own ops or from formulas
computed in this file), `device` (ignored: everything runs on the CPU).

Bugs this suite catches (one line each, then the test that catches it):
- no 1/sqrt(d_k) scaling of the attention logits        -> test_attention_scaling, test_attention_matches_pytorch
- scaling by 1/d_k instead of 1/sqrt(d_k)               -> test_attention_scaling, test_attention_matches_pytorch
- softmax over the query axis instead of the keys       -> test_attention_matches_pytorch, test_attention_scaling, test_gpt_causality
- mask convention inverted (True treated as blocked)    -> test_attention_mask_convention, test_mha_respects_mask, test_gpt_causality
- mask applied by multiplying scores (masked logit 0)   -> test_attention_mask_convention
- causal mask built from the upper triangle (future)    -> test_causal_mask, test_gpt_causality
- causal mask without the diagonal (strict lower)       -> test_causal_mask
- heads split with view(B, H, T, d_head), no transpose  -> test_mha_matches_torch_multihead
- heads merged without transposing back                 -> test_mha_matches_torch_multihead, test_gpt_causality
- sinusoidal encoding as [sin | cos] halves             -> test_sinusoidal_positions
- RoPE rotating the pairs (i, i + d/2) (half split)     -> test_rope_formula
- RoPE with a sign error (not a rotation any more)      -> test_rope_formula, test_rope_relative_property
- post-LN block (LayerNorm after the residual add)      -> test_block_pre_ln_structure
- missing residual connection                           -> test_block_pre_ln_structure
- ReLU instead of GELU in the MLP                       -> test_block_mlp
- loss only on the last position                        -> test_gpt_logits_and_loss
- loss summed instead of averaged                       -> test_gpt_logits_and_loss, test_gpt_loss_at_init
- no position embedding                                 -> test_gpt_uses_positions
- generate does not crop the context to block_size      -> test_generate_shape_and_crop
- generate crops to the first block_size tokens         -> test_generate_top1_is_greedy
- generate ignores the temperature                      -> test_generate_sampling
- generate ignores top_k (samples the full softmax)     -> test_generate_top1_is_greedy, test_generate_sampling
- train_lm uses the input window as targets (no shift)  -> test_train_lm_contract, test_overfit_one_batch, test_train_on_python_docs
- (anything that stops real learning)                   -> test_overfit_one_batch, test_train_on_python_docs

Rules kept here so the suite also runs through the engine's RPC proxy: student objects
are only called, constructed, read, and set through `state_dict` / `load_state_dict`;
no student tensor is written in place, no callable is passed to student code, and
randomness of student code is judged by properties, never by values under a seed.
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

ATOL = 1e-5


# ---------------------------------------------------------------- helpers


def _t(x):
    """A returned tensor as plain data (detached)."""
    assert isinstance(x, torch.Tensor), "expected a torch.Tensor to be returned"
    return x.detach()


def _attention_call(submission, q, k, v, mask=None):
    result = submission.scaled_dot_product_attention(q, k, v, mask)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "scaled_dot_product_attention must return a tuple (out, weights)"
    )
    return _t(result[0]), _t(result[1])


def _random_mask(*shape):
    """A random bool mask whose every query row keeps at least one True entry."""
    mask = torch.rand(*shape) < 0.5
    mask[..., torch.arange(shape[-2]), torch.randint(0, shape[-1], (shape[-2],))] = True
    return mask


def _mha_params(d_model):
    """Random weights for the four projections of a MultiHeadAttention."""
    params = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        params[f"{name}.weight"] = torch.randn(d_model, d_model) / math.sqrt(d_model)
        params[f"{name}.bias"] = 0.1 * torch.randn(d_model)
    return params


def _load_mha(mha, params):
    """Set the student's projection weights via load_state_dict (never in place)."""
    state = dict(mha.state_dict())
    for key, value in params.items():
        assert key in state, (
            f"MultiHeadAttention must have a biased nn.Linear named {key.split('.')[0]} "
            f"(state_dict key '{key}' is missing)"
        )
        assert tuple(state[key].shape) == tuple(value.shape), (
            f"'{key}' has the wrong shape: q_proj, k_proj, v_proj and out_proj are "
            "nn.Linear(d_model, d_model) with bias"
        )
        state[key] = value
    mha.load_state_dict(state)


def _torch_mha(d_model, n_heads, params):
    """nn.MultiheadAttention holding the same weights: in_proj = cat(q, k, v)."""
    ref = nn.MultiheadAttention(d_model, n_heads, bias=True, batch_first=True)
    ref.load_state_dict({
        "in_proj_weight": torch.cat([params[f"{n}_proj.weight"] for n in "qkv"]),
        "in_proj_bias": torch.cat([params[f"{n}_proj.bias"] for n in "qkv"]),
        "out_proj.weight": params["out_proj.weight"],
        "out_proj.bias": params["out_proj.bias"],
    })
    return ref.eval()


def _gpt(submission, vocab_size, block_size, d_model=32, n_heads=4, n_layers=2):
    model = submission.GPT(vocab_size, block_size, d_model, n_heads, n_layers, dropout=0.0)
    model.eval()
    return model


def _logits(model, idx):
    result = model(idx)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "GPT.forward must return a tuple (logits, loss)"
    )
    return _t(result[0]).float()


def _heldout_loss(model, tokens, block_size, n_windows, seed):
    """Mean next-token cross-entropy of `model` on random windows chosen HERE."""
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, tokens.numel() - block_size, (n_windows,), generator=gen)
    windows = tokens[starts[:, None] + torch.arange(block_size + 1)]
    x, y = windows[:, :-1], windows[:, 1:]
    logits = _logits(model, x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()


def _corpus():
    from pydoc_data.topics import topics
    return "\n\n".join(topics[name] for name in sorted(topics))


# ---------------------------------------------------------------- attention


@pytest.mark.points(4)
def test_attention_matches_pytorch(submission):
    torch.manual_seed(0)
    for q_shape, k_shape, v_shape in [
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 6)),  # (B, H, T, d), T_q != T_k
        ((4, 6, 16), (4, 6, 16), (4, 6, 16)),  # (B, T, d)
    ]:
        q, k, v = torch.randn(q_shape), torch.randn(k_shape), torch.randn(v_shape)
        out, weights = _attention_call(submission, q, k, v)
        assert out.shape == q.shape[:-1] + v.shape[-1:], (
            "out must have shape (..., T_q, d_v): one weighted average of the values per query"
        )
        assert weights.shape == q.shape[:-1] + k.shape[-2:-1], (
            "weights must have shape (..., T_q, T_k): one probability per (query, key) pair"
        )
        assert torch.allclose(weights.sum(-1), torch.ones(()), atol=ATOL), (
            "each row of weights must sum to 1: the softmax runs over the keys (the last axis)"
        )
        assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=ATOL), (
            "out must equal softmax(q k^T / sqrt(d_k)) v, what "
            "torch.nn.functional.scaled_dot_product_attention computes"
        )
        assert torch.allclose(weights @ v, out, atol=ATOL), "out must be weights @ v"
    # with the causal mask, as a GPT uses it
    q, k, v = torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    mask = torch.tril(torch.ones(6, 6, dtype=torch.bool))
    out, _ = _attention_call(submission, q, k, v, mask)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL), (
        "with a causal bool mask, out must equal "
        "torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)"
    )


@pytest.mark.points(3)
def test_attention_scaling(submission):
    torch.manual_seed(1)
    for d in (1, 4, 64):
        q, k, v = torch.randn(2, 5, d), torch.randn(2, 7, d), torch.randn(2, 7, 3)
        _, weights = _attention_call(submission, q, k, v)
        logits = q @ k.transpose(-2, -1)
        assert torch.allclose(weights, torch.softmax(logits / math.sqrt(d), dim=-1), atol=ATOL), (
            f"with d_k = {d}, the weights must be softmax(q k^T / sqrt(d_k)) over the keys: "
            "divide the logits by the square root of the key dimension q.shape[-1] "
            "(not by d_k, and not unscaled)"
        )


@pytest.mark.points(3)
def test_attention_mask_convention(submission):
    torch.manual_seed(2)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 9, 8), torch.randn(2, 3, 9, 4)
    for mask in (_random_mask(5, 9), _random_mask(2, 1, 5, 9)):  # (T_q, T_k) and (B, 1, T_q, T_k)
        out, weights = _attention_call(submission, q, k, v, mask)
        blocked = (~mask).expand_as(weights)
        assert torch.all(weights[blocked] == 0), (
            "where mask is False the attention weight must be exactly 0: True means 'may attend' "
            "(torch.nn.functional.scaled_dot_product_attention's convention; nn.MultiheadAttention "
            "uses the opposite one). Fill blocked logits with -inf before the softmax; multiplying "
            "logits by the mask leaves them at 0, not -inf"
        )
        assert torch.allclose(weights.sum(-1), torch.ones(()), atol=ATOL), (
            "with a mask, each row of weights must still sum to 1 over the allowed keys"
        )
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert torch.allclose(out, expected, atol=ATOL), (
            "with a bool mask broadcastable to (..., T_q, T_k), out must equal "
            "torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)"
        )


@pytest.mark.points(3)
def test_causal_mask(submission):
    for T in (1, 3, 7):
        mask = _t(submission.causal_mask(T))
        assert mask.dtype == torch.bool, "causal_mask must return a bool tensor"
        assert mask.shape == (T, T), "causal_mask(T) must have shape (T, T)"
        rows, cols = torch.meshgrid(torch.arange(T), torch.arange(T), indexing="ij")
        assert torch.all(mask[rows >= cols]), (
            "causal_mask must be True on and below the diagonal: position t may attend to "
            "itself and every earlier position s <= t"
        )
        assert not torch.any(mask[rows < cols]), (
            "causal_mask must be False above the diagonal: position t may never attend to a "
            "later position s > t (the future)"
        )


# ---------------------------------------------------------------- positions


def _expected_sinusoidal(T, d):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.empty(T, d, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe


@pytest.mark.points(3)
def test_sinusoidal_positions(submission):
    for T, d in ((50, 16), (9, 6)):
        pe = _t(submission.sinusoidal_positions(T, d))
        assert pe.shape == (T, d), "sinusoidal_positions(T, d) must have shape (T, d)"
        assert pe.is_floating_point(), "sinusoidal_positions must return a float tensor"
        expected = _expected_sinusoidal(T, d)
        assert torch.allclose(pe[:, :2].double(), expected[:, :2], atol=1e-4), (
            "columns 0 and 1 must be sin(p) and cos(p) (i = 0): the encoding is interleaved, "
            "PE[p, 2i] = sin(...) and PE[p, 2i+1] = cos(...), not [sin | cos] halves"
        )
        assert torch.allclose(pe.double(), expected, atol=1e-4), (
            "PE[p, 2i] must be sin(p / 10000^(2i/d)) and PE[p, 2i+1] = cos(p / 10000^(2i/d)); "
            "note the exponent uses 2i (the even column index), divided by d"
        )


def _expected_rope(x):
    x = x.double()
    T, d = x.shape[-2], x.shape[-1]
    theta = torch.arange(T, dtype=torch.float64)[:, None] * 10000.0 ** (
        -torch.arange(0, d, 2, dtype=torch.float64) / d
    )
    out = torch.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * theta.cos() - x[..., 1::2] * theta.sin()
    out[..., 1::2] = x[..., 0::2] * theta.sin() + x[..., 1::2] * theta.cos()
    return out


@pytest.mark.points(3)
def test_rope_formula(submission):
    torch.manual_seed(3)
    for shape in ((2, 3, 10, 8), (12, 16)):  # (B, H, T, d) and (T, d)
        x = torch.randn(shape)
        y = _t(submission.apply_rope(x))
        assert y.shape == x.shape, "apply_rope must return a tensor of the same shape as x"
        assert torch.allclose(y[..., 0, :], x[..., 0, :], atol=ATOL), (
            "at position 0 every angle is 0, so apply_rope must leave x[..., 0, :] unchanged; "
            "positions run over the second-to-last axis"
        )
        assert torch.allclose(y.double(), _expected_rope(x), atol=1e-4), (
            "apply_rope must rotate each interleaved pair (2i, 2i+1) at position p by "
            "theta = p * 10000^(-2i/d): x'[2i] = x[2i] cos - x[2i+1] sin, "
            "x'[2i+1] = x[2i] sin + x[2i+1] cos (pairs are neighbours, not (i, i + d/2))"
        )


@pytest.mark.points(3)
@pytest.mark.visibility("hidden")
def test_rope_relative_property(submission):
    torch.manual_seed(4)
    T, d = 12, 16
    q, k = torch.randn(d), torch.randn(d)
    rq = _t(submission.apply_rope(q.expand(T, d).clone())).double()  # q at every position
    rk = _t(submission.apply_rope(k.expand(T, d).clone())).double()
    assert torch.allclose(rq.norm(dim=-1), q.double().norm().expand(T), atol=1e-4), (
        "RoPE is a rotation of every pair: it must preserve the norm of each vector"
    )
    scores = rq @ rk.T  # scores[m, n] = <rope(q)_m, rope(k)_n>
    for offset in range(-(T - 1), T):
        diag = torch.diagonal(scores, offset=offset)
        assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-3), (
            "<rope(q)_m, rope(k)_n> must depend only on the offset m - n (RoPE's relative "
            "property): rotate q and k by angles proportional to their positions, with the "
            "same sign convention for both entries of a pair"
        )
    assert not torch.allclose(scores[0, 0], scores[0, 1], atol=1e-4), (
        "the score must change with the offset m - n: positions p > 0 must be rotated"
    )


# ---------------------------------------------------------------- multi-head attention


@pytest.mark.points(5)
def test_mha_matches_torch_multihead(submission):
    torch.manual_seed(5)
    for d_model, n_heads in ((16, 4), (12, 2), (8, 1)):
        params = _mha_params(d_model)
        mha = submission.MultiHeadAttention(d_model, n_heads, dropout=0.0)
        mha.eval()
        _load_mha(mha, params)
        x = torch.randn(3, 6, d_model)
        out = _t(mha(x))
        assert out.shape == x.shape, "MultiHeadAttention must map (B, T, d_model) to (B, T, d_model)"
        expected, _ = _torch_mha(d_model, n_heads, params)(x, x, x, need_weights=False)
        assert torch.allclose(out, expected, atol=ATOL), (
            f"with {n_heads} heads, the output must equal nn.MultiheadAttention's with the same "
            "weights: head h uses features [h*d_head, (h+1)*d_head) of q_proj/k_proj/v_proj, "
            "split with view(B, T, H, d_head).transpose(1, 2), merged back with "
            "transpose(1, 2) before reshaping to (B, T, d_model), then out_proj"
        )


@pytest.mark.points(3)
def test_mha_respects_mask(submission):
    torch.manual_seed(6)
    B, T, d_model, n_heads = 2, 7, 16, 4
    params = _mha_params(d_model)
    mha = submission.MultiHeadAttention(d_model, n_heads, dropout=0.0)
    mha.eval()
    _load_mha(mha, params)
    ref = _torch_mha(d_model, n_heads, params)
    x = torch.randn(B, T, d_model)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    expected, _ = ref(x, x, x, attn_mask=~causal, need_weights=False)  # torch: True = blocked
    assert torch.allclose(_t(mha(x, causal)), expected, atol=ATOL), (
        "with a (T, T) causal mask (True = may attend), MultiHeadAttention must equal "
        "nn.MultiheadAttention given the inverted mask (its convention is True = blocked); "
        "pass the mask on to scaled_dot_product_attention for every head"
    )
    mask = _random_mask(B, 1, T, T)
    expected, _ = ref(x, x, x, need_weights=False,
                      attn_mask=(~mask).expand(B, n_heads, T, T).reshape(B * n_heads, T, T))
    assert torch.allclose(_t(mha(x, mask)), expected, atol=ATOL), (
        "a mask of shape (B, 1, T, T) must broadcast over the heads of (B, H, T, T) scores"
    )


# ---------------------------------------------------------------- transformer block


def _randomize(module, scale=0.3):
    """Load random values into every floating tensor of a student module."""
    state = {k: (scale * torch.randn_like(v) + (1.0 if k.endswith("ln1.weight") or k.endswith("ln2.weight") else 0.0))
             if v.is_floating_point() else v
             for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    return state


@pytest.mark.points(3)
def test_block_pre_ln_structure(submission):
    torch.manual_seed(7)
    d_model, n_heads, d_ff, T = 16, 2, 32, 6
    block = submission.TransformerBlock(d_model, n_heads, d_ff, dropout=0.0)
    block.eval()
    _randomize(block)
    x = torch.randn(2, T, d_model)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for m in (mask, None):
        out = _t(block(x, m))
        assert out.shape == x.shape, "TransformerBlock must map (B, T, d_model) to (B, T, d_model)"
        h = x + _t(block.attn(_t(block.ln1(x)), m))
        expected = h + _t(block.mlp(_t(block.ln2(h))))
        if torch.allclose(out, expected, atol=1e-4):
            continue
        post_h = _t(block.ln1(x + _t(block.attn(x, m))))
        post = _t(block.ln2(post_h + _t(block.mlp(post_h))))
        assert not torch.allclose(out, post, atol=1e-4), (
            "this is the post-LN block of the original Transformer; the task asks for pre-LN: "
            "normalise the input of each sub-layer, x + attn(ln1(x)), not ln1(x + attn(x))"
        )
        assert False, (
            "TransformerBlock must be pre-LN with residual connections, using its own ln1, attn, "
            "ln2 and mlp: h = x + attn(ln1(x), mask), then out = h + mlp(ln2(h))"
        )


@pytest.mark.points(2)
def test_block_mlp(submission):
    torch.manual_seed(8)
    d_model, n_heads, d_ff = 12, 3, 40
    block = submission.TransformerBlock(d_model, n_heads, d_ff, dropout=0.0)
    block.eval()
    state = _randomize(block)
    shapes = {"mlp.0.weight": (d_ff, d_model), "mlp.0.bias": (d_ff,),
              "mlp.2.weight": (d_model, d_ff), "mlp.2.bias": (d_model,),
              "ln1.weight": (d_model,), "ln1.bias": (d_model,),
              "ln2.weight": (d_model,), "ln2.bias": (d_model,)}
    for key, shape in shapes.items():
        assert key in state and tuple(state[key].shape) == shape, (
            "TransformerBlock needs ln1 and ln2 = nn.LayerNorm(d_model) and mlp = "
            "nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model)); "
            f"state_dict entry '{key}' is missing or has the wrong shape"
        )
    x = torch.randn(2, 5, d_model)
    hidden = F.linear(x, state["mlp.0.weight"], state["mlp.0.bias"])
    expected = F.linear(F.gelu(hidden), state["mlp.2.weight"], state["mlp.2.bias"])
    assert torch.allclose(_t(block.mlp(x)), expected, atol=1e-4), (
        "mlp must be Linear(d_model, d_ff) -> GELU -> Linear(d_ff, d_model) "
        "(nn.GELU(), the exact erf form; not ReLU)"
    )
    expected_ln = F.layer_norm(x, (d_model,), state["ln1.weight"], state["ln1.bias"])
    assert torch.allclose(_t(block.ln1(x)), expected_ln, atol=1e-4), (
        "ln1 must be a LayerNorm over the last (d_model) axis"
    )


# ---------------------------------------------------------------- GPT


@pytest.mark.points(3)
def test_gpt_logits_and_loss(submission):
    torch.manual_seed(9)
    V, block_size = 11, 16
    model = _gpt(submission, V, block_size)
    for B, T in ((3, 10), (2, block_size)):
        idx, targets = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
        result = model(idx, targets)
        assert isinstance(result, (tuple, list)) and len(result) == 2, (
            "GPT.forward must return a tuple (logits, loss)"
        )
        logits, loss = _t(result[0]), result[1]
        assert logits.shape == (B, T, V), (
            "logits must have shape (B, T, vocab_size): next-token logits at every position"
        )
        assert isinstance(loss, torch.Tensor) and loss.dim() == 0, (
            "with targets, loss must be a scalar tensor"
        )
        expected = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
        assert torch.allclose(_t(loss), expected, atol=1e-5), (
            "loss must be the MEAN cross-entropy over all B * T positions, "
            "F.cross_entropy(logits.reshape(B*T, V), targets.reshape(B*T)): every position "
            "is a training example, not only the last one, and it is averaged, not summed"
        )
        result = model(idx)
        assert result[1] is None, "without targets, GPT.forward must return (logits, None)"
        assert torch.allclose(_t(result[0]), logits, atol=1e-5), (
            "the logits must not depend on whether targets are given"
        )


@pytest.mark.points(3)
def test_gpt_causality(submission):
    torch.manual_seed(10)
    V, T = 13, 12
    model = _gpt(submission, V, T)
    idx = torch.randint(0, V, (2, T))
    base = _logits(model, idx)
    for t in (1, 5, T - 1):
        changed = idx.clone()
        changed[:, t:] = (idx[:, t:] + torch.randint(1, V, (2, T - t))) % V
        logits = _logits(model, changed)
        assert torch.allclose(logits[:, :t], base[:, :t], atol=1e-5), (
            "changing the tokens at positions >= t changed the logits at positions < t: a GPT "
            "must be causal, position t may only see tokens 0..t (apply causal_mask in every block)"
        )


@pytest.mark.points(2)
@pytest.mark.visibility("hidden")
def test_gpt_uses_positions(submission):
    torch.manual_seed(11)
    V, T = 10, 8
    model = _gpt(submission, V, T)
    # Random weights everywhere, so a zero-initialised position table cannot hide anything.
    model.load_state_dict({k: 0.5 * torch.randn_like(v) if v.is_floating_point() else v
                           for k, v in model.state_dict().items()})
    for token in (0, 7):
        logits = _logits(model, torch.full((1, T), token, dtype=torch.long))
        spread = (logits - logits[:, :1]).abs().amax()
        assert spread > 1e-4, (
            "for a sequence repeating one token, every position gets the same logits: the model "
            "cannot tell positions apart. Add the learned position embedding pos_emb(0..T-1) to "
            "the token embeddings"
        )


@pytest.mark.points(2)
def test_gpt_loss_at_init(submission):
    torch.manual_seed(12)
    V = 64
    losses = []
    for _ in range(3):
        model = _gpt(submission, V, 16)
        idx, targets = torch.randint(0, V, (4, 16)), torch.randint(0, V, (4, 16))
        losses.append(_t(model(idx, targets)[1]).item())
    mean = sum(losses) / len(losses)
    assert math.isfinite(mean) and abs(mean - math.log(V)) < 0.75, (
        "at initialisation the model should predict nearly uniformly, so the loss should be "
        "close to ln(vocab_size); check the loss is a mean (not a sum) and the weights are "
        "small (e.g. GPT-2's normal(0, 0.02) init)"
    )


# ---------------------------------------------------------------- generation


@pytest.mark.points(2)
def test_generate_shape_and_crop(submission):
    torch.manual_seed(13)
    V, block_size = 10, 8
    model = _gpt(submission, V, block_size, n_layers=1)
    for prompt_len, new in ((3, 12), (11, 4)):  # runs past block_size / starts past it
        prompt = torch.randint(0, V, (2, prompt_len))
        out = _t(model.generate(prompt, new))
        assert out.shape == (2, prompt_len + new), (
            "generate(idx, n) must return shape (B, T0 + n); it must also accept contexts longer "
            "than block_size by cropping to the last block_size tokens before each forward pass"
        )
        assert out.dtype == torch.long, "generate must return token ids (torch.long)"
        assert torch.equal(out[:, :prompt_len], prompt), "generate must keep the prompt as prefix"
        assert out.min() >= 0 and out.max() < V, "generated ids must lie in [0, vocab_size)"


def _check_choices(model, seq, start, block_size, top_k, message):
    """Every token seq[:, t] (t >= start) must be among the top_k logits given seq[:, :t]."""
    for t in range(start, seq.shape[1]):
        logits = _logits(model, seq[:, :t][:, -block_size:])[:, -1]  # (B, V)
        chosen = logits.gather(1, seq[:, t:t + 1])
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        assert torch.all(chosen >= kth - 1e-5), message


@pytest.mark.points(3)
def test_generate_top1_is_greedy(submission):
    torch.manual_seed(14)
    V, block_size = 32, 8
    model = _gpt(submission, V, block_size, n_layers=1)
    prompt = torch.randint(0, V, (8, 10))  # longer than block_size
    for temperature in (1.0, 0.5):
        seq = _t(model.generate(prompt, 6, temperature=temperature, top_k=1))
        assert seq.shape == (8, 16), "generate must return shape (B, T0 + max_new_tokens)"
        _check_choices(model, seq, 10, block_size, 1,
                       "with top_k=1, generate must pick the argmax of the logits at the last "
                       "position given the last block_size tokens (greedy decoding), whatever "
                       "the temperature")


@pytest.mark.points(2)
@pytest.mark.visibility("hidden")
def test_generate_sampling(submission):
    torch.manual_seed(15)
    V, block_size, n = 12, 8, 20000
    model = _gpt(submission, V, block_size, n_layers=1)
    # Sharpen the distribution so temperature visibly matters: scale every weight.
    model.load_state_dict({k: 3.0 * v if v.is_floating_point() else v
                           for k, v in model.state_dict().items()})
    prompt = torch.randint(0, V, (1, 5))
    logits = _logits(model, prompt)[0, -1]  # (V,)
    for temperature, top_k in ((0.5, None), (1.0, 3)):
        seq = _t(model.generate(prompt.expand(n, 5).clone(), 1, temperature=temperature, top_k=top_k))
        freq = torch.bincount(seq[:, -1], minlength=V).double() / n
        scaled = logits.double() / temperature
        if top_k is not None:
            kth = torch.topk(scaled, top_k).values[-1]
            assert torch.all(freq[scaled < kth - 1e-5] == 0), (
                "with top_k, generate must never sample a token outside the top_k logits"
            )
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        tv = 0.5 * (freq - torch.softmax(scaled, dim=-1)).abs().sum().item()
        assert tv < 0.04, (
            "sampled tokens must follow softmax(logits / temperature) (restricted to the top_k "
            "logits when top_k is given); divide the last position's logits by the temperature "
            "and draw with torch.multinomial, do not take the argmax"
        )


# ---------------------------------------------------------------- training


@pytest.mark.points(2)
@pytest.mark.time_limit(30)
def test_train_lm_contract(submission):
    torch.manual_seed(16)
    V, block_size = 8, 8
    tokens = torch.arange(400) % V  # 0 1 2 ... 7 0 1 ...: the next token is always determined
    model = _gpt(submission, V, block_size, d_model=32, n_heads=2, n_layers=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = submission.train_lm(model, tokens, 60, 16, 1e-2, 0)
    assert isinstance(losses, list) and len(losses) == 60, (
        "train_lm must return a list with one loss per step"
    )
    assert all(isinstance(x, float) and math.isfinite(x) for x in losses), (
        "train_lm must return finite Python floats (loss.item())"
    )
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), (
        "train_lm must train the given model in place (optimizer.step() on its parameters)"
    )
    model.eval()
    loss = _heldout_loss(model, tokens, block_size, 32, seed=0)
    assert loss < 0.5, (
        "after 60 steps on a periodic sequence the model must predict the NEXT token well; "
        "targets are the window shifted by one (x = w[:, :-1], y = w[:, 1:]) of windows of "
        "length block_size + 1"
    )


@pytest.mark.points(3)
@pytest.mark.slow
@pytest.mark.time_limit(60)
def test_overfit_one_batch(submission):
    torch.manual_seed(17)
    V, block_size = 24, 16
    tokens = torch.randperm(V)[:block_size + 2]  # two overlapping windows, distinct ids
    model = _gpt(submission, V, block_size, d_model=32, n_heads=4, n_layers=1)
    submission.train_lm(model, tokens, 150, 4, 3e-3, 0)
    model.eval()
    logits = _logits(model, tokens[None, :block_size])
    loss = F.cross_entropy(logits[0], tokens[1:block_size + 1]).item()
    assert loss < 0.1, (
        "a model trained on one short random sequence must memorise it (loss near 0 on its "
        "first window); check the optimiser steps on model.parameters() and the targets are "
        "the inputs shifted by one"
    )


@pytest.mark.points(3)
@pytest.mark.slow
@pytest.mark.time_limit(120)
@pytest.mark.visibility("after_due_date")
def test_train_on_python_docs(submission):
    torch.manual_seed(18)
    text = _corpus()
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    tokens = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    split = int(0.9 * tokens.numel())
    train, held_out = tokens[:split], tokens[split:]
    V, block_size = len(vocab), 32
    # Unigram baseline: held-out cross-entropy of the training character frequencies.
    counts = torch.bincount(train, minlength=V).double() + 1.0
    log_p = (counts / counts.sum()).log()
    unigram = -log_p[held_out].mean().item()
    model = _gpt(submission, V, block_size, d_model=64, n_heads=4, n_layers=2)
    submission.train_lm(model, train, 300, 32, 3e-3, 0)
    model.eval()
    loss = _heldout_loss(model, held_out, block_size, 64, seed=1)
    assert loss < unigram - 0.5, (
        "after 300 steps on Python's help topics, the held-out loss (measured by the grader) "
        "must be clearly below a unigram model's: the GPT must learn to use its context"
    )
