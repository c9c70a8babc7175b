"""Hidden suite of the `nystrom_attention` module (Nyströmformer, Xiong et al. 2021).

Fixtures (engine plugin): `submission` (the student's definitions), `recipe` (the
arguments probe), `reference` (unused: every expected value is computed in this file,
with loops, torch.linalg matrix norms, the expanded form of the iteration, explicit
shifts for the convolution, or PyTorch's own attention), `device` (unused: the engine
moves tensors to the worker's device and back).

One bug, one function's tests. A test of a composite (nystrom_attention uses
segment_means and iterative_pinv; the layer uses nystrom_attention) accepts two expected
values: the one computed here from the formula alone, and the same formula built from the
student's OWN sub-function results on the same inputs (their landmarks, their
pseudo-inverse of the kernel A computed here, their nystrom_attention of the heads
projected here). So a correct nystrom_attention on top of a wrong iterative_pinv loses
points only in the pseudo-inverse's tests, and a nystrom_attention that does not call the
student's sub-functions but computes the right thing passes too. Where the student's own
pseudo-inverse diverges to inf/NaN, "consistent" means non-finite in the same places.

Bugs this suite catches (the mutants; one line each, then the tests that catch it):
- softmax_attention scaled by 1/d instead of 1/sqrt(d)        -> test_softmax_attention
- softmax weights computed in float32 (softmax(..., dtype=float32)) -> test_softmax_attention, test_dtype_kept
- landmarks by strided sampling x[..., ::T/m, :], not means  -> test_segment_means_values
- segment_means truncates an indivisible T instead of raising -> test_segment_means_rejects_indivisible_lengths
- pinv norms as maxima over the whole batch (official code)  -> test_iterative_pinv_per_matrix, test_iterative_pinv_follows_the_paper
- pinv initial scaling A^T / ||A||_F^2                       -> test_iterative_pinv_follows_the_paper
- pinv initial Z_0 without the transpose (A / (..))          -> test_iterative_pinv_follows_the_paper, test_iterative_pinv_quality
- pinv norms without absolute values (plain sums)            -> test_iterative_pinv_follows_the_paper, test_iterative_pinv_quality
- Newton-Schulz Z(2I - AZ) instead of the paper's iteration  -> test_iterative_pinv_follows_the_paper, test_iterative_pinv_quality
- pinv coefficients 13 and 15 swapped                        -> test_iterative_pinv_follows_the_paper, test_iterative_pinv_quality
- Nystrom kernels without the 1/sqrt(d) scaling              -> test_nystrom_matches_the_formula, test_nystrom_exact_when_landmarks_are_tokens
- softmax of the kernel B over the wrong axis (landmarks)    -> test_nystrom_matches_the_formula, test_nystrom_exact_when_landmarks_are_tokens, test_nystrom_cost_linear_in_T
- nystrom_attention does not pass n_iter on to iterative_pinv -> test_nystrom_matches_the_formula, test_nystrom_exact_when_landmarks_are_tokens
- (F pinv(A) B) v: the T x T matrix formed, quadratic cost   -> test_nystrom_cost_linear_in_T
- nystrom_attention scales the caller's q in place (q /= ...) -> test_inputs_left_unmodified
- no convolutional skip in the layer                         -> test_conv_skip, test_self_attention_matches_the_formula
- skip convolution applied to the queries, not the values    -> test_conv_skip, test_self_attention_matches_the_formula
- skip convolution over the feature axis, kernel (1, K)      -> test_self_attention_parameters, test_conv_skip, test_self_attention_matches_the_formula
- skip convolution without padding (T - K + 1 outputs)       -> test_self_attention_parameters, test_conv_skip, test_self_attention_matches_the_formula
- heads merged with reshape, no transpose back               -> test_conv_skip, test_self_attention_matches_the_formula
- the layer does not pass its n_iter on to nystrom_attention -> test_conv_skip, test_self_attention_matches_the_formula

Tolerances. The pseudo-inverse and segment means involve no scale and are compared at
1e-7 relative (float64 throughout; a correct float64 implementation agrees to ~1e-13).
Anything that applies the 1/sqrt(d) scale is compared at RTOL = 1e-6: a correct student
may build the scale as a float32 tensor (torch.tensor(d).sqrt(), a 0-dim tensor: it keeps
float64 inputs float64 but rounds the scale to float32, 3e-8 relative), which moves the
logits by ~1e-7 and the output, through the pseudo-inverse, by up to a few 1e-7; the
alternative implementation (tests/modules/nystrom_attention_alternative.py) does exactly
that. Every bug above is off by more than 1e-3.

test_nystrom_cost_linear_in_T judges the cost by nothing the student's process measures
about itself (a flop count or a clock taken there is the student's to forge): it makes
one call at T = 2^18 (d = 16, m = 32), where a T x T float32 matrix is 256 GiB, 64 times
the worker's kernel-enforced memory (sandbox.memory_mb = 4096 MB, a cgroup) and more than
the RAM of nearly any host (so a trusted-mode run, which has no memory limit, is normally
refused the allocation at once), and where the T x T products even computed in blocks of
rows are 2 T^2 (m + d) = 6.6e12 flops, 5 minutes on one CPU thread (3.6 on two), against
a 15 s limit; the reference's call takes 0.3-2.7 s, transfers included
(docs/BENCHMARKS.md). So that a cheap wrong answer fails without charging the formula
again, the long sequence repeats each of 2^14 tokens 16 times: the segment means, the
kernel A and its pseudo-inverse are then those of the 2^14-token sequence, and Nystrom
attention's output is the student's own 2^14-token output with each row repeated. Any
implementation whose kernels are softmaxes over the last axis satisfies this, right or
wrong in its scale, its landmarks or its pseudo-inverse (float32 rounding makes the two
differ by 3e-6 for the reference, 1e-6 for the alternative; the tolerance is 1e-4); the
short output must also depend on the queries, so code that returns v does not pass. On a
CUDA worker only the memory bound holds: forming the T x T matrix exceeds the allocator's
cap (gpu_memory_mb = 8192), but quadratic code written in blocks of rows takes a second or
less there and passes.

Rules kept here so the suite also runs through the engine's RPC proxy and in trusted
mode: student objects are only called, constructed, read, and set through `state_dict` /
`load_state_dict`; every tensor passed to student code is a fresh copy (in trusted mode
nothing copies it for us, and a student who writes into an argument must lose points only
in test_inputs_left_unmodified); no callable is passed into the worker.
"""
import math

import pytest
import torch
import torch.nn.functional as F

DTYPE = torch.float64  # value tests run in double precision: tight tolerances
RTOL = 1e-6  # where the 1/sqrt(d) scale enters (a float32 scale is correct: see above)


# ---------------------------------------------------------------- helpers


def _t(x):
    """A returned tensor as plain CPU data (detached)."""
    assert isinstance(x, torch.Tensor), "expected a torch.Tensor to be returned"
    return x.detach().cpu()


def _c(*tensors):
    """Fresh copies of the tensors a test passes to student code."""
    return [x.clone() for x in tensors]


def _close(actual, expected, rtol=1e-7):
    """Max-norm closeness relative to the size of the expected tensor."""
    if actual.shape != expected.shape:
        return False
    err = (actual.to(DTYPE) - expected.to(DTYPE)).abs().max().item()
    return math.isfinite(err) and err <= rtol * (1.0 + expected.abs().max().item())


def _consistent(actual, expected, rtol=RTOL):
    """`_close` on the finite entries, and non-finite in the same places (an expectation
    built on the student's own sub-functions may be inf/NaN where their pinv diverges)."""
    if actual.shape != expected.shape:
        return False
    finite = torch.isfinite(expected)
    if not torch.equal(torch.isfinite(actual), finite):
        return False
    return not finite.any() or _close(actual[finite], expected[finite], rtol)


def _segment_means(x, m):
    """Segment means, one slice at a time."""
    seg = x.shape[-2] // m
    return torch.stack([x[..., j * seg:(j + 1) * seg, :].mean(dim=-2) for j in range(m)], dim=-2)


def _paper_pinv(a, n_iter):
    """The paper's iteration, matrix by matrix, with torch.linalg's norms and the
    expanded polynomial Z (13I - 15X + 7X^2 - X^3) / 4, X = A Z."""
    m = a.shape[-1]
    eye = torch.eye(m, dtype=a.dtype)
    out = []
    for mat in a.reshape(-1, m, m):
        scale = (torch.linalg.matrix_norm(mat, ord=1)
                 * torch.linalg.matrix_norm(mat, ord=float("inf")))
        z = mat.T / scale
        for _ in range(n_iter):
            x = mat @ z
            x2 = x @ x
            z = z @ (13 * eye - 15 * x + 7 * x2 - x2 @ x) / 4
        out.append(z)
    return torch.stack(out).reshape(a.shape)


def _kernels(q, k, q_land, k_land, scale=None):
    """The three Nystrom kernels F (..., T, m), A (..., m, m), B (..., m, T)."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    kernel_f = torch.softmax(scale * q @ k_land.transpose(-2, -1), dim=-1)  # (..., T, m)
    kernel_a = torch.softmax(scale * q_land @ k_land.transpose(-2, -1), dim=-1)  # (..., m, m)
    kernel_b = torch.softmax(scale * q_land @ k.transpose(-2, -1), dim=-1)  # (..., m, T)
    return kernel_f, kernel_a, kernel_b


def _nystrom(q, k, v, m, n_iter, scale=None):
    """Nystrom attention computed here: F pinv(A) B v."""
    kernel_f, kernel_a, kernel_b = _kernels(q, k, _segment_means(q, m), _segment_means(k, m), scale)
    return kernel_f @ (_paper_pinv(kernel_a, n_iter) @ (kernel_b @ v))  # never T x T


def _own_nystrom(submission, q, k, v, m, n_iter, scale=None):
    """F pinv(A) B v with the student's OWN segment_means (the landmarks) and
    iterative_pinv (of the kernel A computed here), the rest computed here; None where
    those functions raise or return the wrong shape (their own tests say so)."""
    try:
        q_land = _t(submission.segment_means(*_c(q), m)).to(q.dtype)
        k_land = _t(submission.segment_means(*_c(k), m)).to(k.dtype)
    except Exception:
        return None
    landmarks = q.shape[:-2] + (m, q.shape[-1])
    if tuple(q_land.shape) != landmarks or tuple(k_land.shape) != landmarks:
        return None
    kernel_f, kernel_a, kernel_b = _kernels(q, k, q_land, k_land, scale)
    try:
        z = _t(submission.iterative_pinv(*_c(kernel_a), n_iter)).to(q.dtype)
    except Exception:
        return None
    if z.shape != kernel_a.shape:
        return None
    return kernel_f @ (z @ (kernel_b @ v))


def _softmax_matrices(batch, m, gen):
    """Row-stochastic (m, m) matrices of different sharpness, so their column sums differ."""
    n = math.prod(batch)
    sharpness = torch.linspace(0.5, 3.0, n, dtype=DTYPE).reshape(*batch, 1, 1)
    logits = torch.randn(*batch, m, m, generator=gen, dtype=DTYPE)
    return torch.softmax(sharpness * logits, dim=-1)


def _randn(*shape, gen, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=DTYPE)


def _layer_params(d_model, n_heads, kernel, gen, conv_scale=0.3):
    """Random weights for every parameter of a NystromSelfAttention."""
    params = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        params[f"{name}.weight"] = _randn(d_model, d_model, gen=gen) / math.sqrt(d_model)
        params[f"{name}.bias"] = _randn(d_model, gen=gen, scale=0.1)
    params["conv.weight"] = _randn(n_heads, 1, kernel, 1, gen=gen, scale=conv_scale)
    return params


def _new_layer(submission, d_model, n_heads, m, n_iter, kernel):
    layer = submission.NystromSelfAttention(d_model, n_heads, m, n_iter=n_iter, conv_kernel=kernel)
    layer.eval()
    layer.double()
    return layer


def _load(layer, params):
    """Set the student's weights via load_state_dict (never in place)."""
    state = dict(layer.state_dict())
    for key, value in params.items():
        assert key in state, (
            f"NystromSelfAttention needs the parameter '{key}': biased nn.Linear(d_model, d_model) "
            "layers named q_proj, k_proj, v_proj, out_proj and conv = nn.Conv2d(n_heads, n_heads, "
            "(conv_kernel, 1), padding=(conv_kernel // 2, 0), groups=n_heads, bias=False)"
        )
        assert tuple(state[key].shape) == tuple(value.shape), (
            f"'{key}' has the wrong shape: the projections are nn.Linear(d_model, d_model) and "
            "conv.weight is (n_heads, 1, conv_kernel, 1): one kernel of conv_kernel taps over T "
            "per head (a (conv_kernel, 1) kernel, not (1, conv_kernel))"
        )
        state[key] = value
    layer.load_state_dict(state)


def _heads(x, params, name, n_heads):
    B, T, D = x.shape
    y = F.linear(x, params[f"{name}.weight"], params[f"{name}.bias"])  # (B, T, D)
    return y.view(B, T, n_heads, D // n_heads).transpose(1, 2)  # (B, H, T, dh)


def _skip(v, weight):
    """Depthwise convolution over T, written as a sum of zero-filled shifts:
    skip[b, h, t] = sum_j w[h, j] v[b, h, t + j - K//2]."""
    K, T = weight.shape[2], v.shape[-2]
    out = torch.zeros_like(v)
    for j in range(K):
        off = j - K // 2
        if abs(off) >= T:
            continue  # the tap only ever sees the zero padding
        shifted = torch.zeros_like(v)
        if off >= 0:
            shifted[..., :T - off, :] = v[..., off:, :]
        else:
            shifted[..., -off:, :] = v[..., :T + off, :]
        out = out + weight[:, 0, j, 0].view(-1, 1, 1) * shifted
    return out


def _merge(out, params):
    B, H, T, dh = out.shape
    merged = out.transpose(1, 2).reshape(B, T, H * dh)  # (B, T, D)
    return F.linear(merged, params["out_proj.weight"], params["out_proj.bias"])


# ---------------------------------------------------------------- softmax attention


@pytest.mark.points(3)
def test_softmax_attention(submission):
    gen = torch.Generator().manual_seed(0)
    for shape, d_v in (((2, 3, 10, 8), 8), ((12, 1), 3), ((4, 7, 64), 5)):
        q, k = _randn(*shape, gen=gen), _randn(*shape, gen=gen)
        v = _randn(*shape[:-1], d_v, gen=gen)
        out = _t(submission.softmax_attention(*_c(q, k, v)))
        assert out.shape == v.shape, "softmax_attention must return shape (..., T, d_v)"
        assert _close(out, F.scaled_dot_product_attention(q, k, v), RTOL), (
            f"with d = {shape[-1]}, out must be softmax(q k^T / sqrt(d)) v with the softmax over "
            "the keys (last axis), what torch.nn.functional.scaled_dot_product_attention computes; "
            "divide by the square root of d = q.shape[-1] (not by d)"
        )


# ---------------------------------------------------------------- segment means


@pytest.mark.points(4)
def test_segment_means_values(submission):
    gen = torch.Generator().manual_seed(1)
    for shape, m in (((2, 3, 12, 5), 3), ((2, 3, 12, 5), 4), ((20, 6), 5), ((2, 12, 5), 12),
                     ((2, 12, 5), 1)):
        x = _randn(*shape, gen=gen)
        out = _t(submission.segment_means(*_c(x), m))
        assert out.shape == shape[:-2] + (m, shape[-1]), (
            "segment_means(x, m) must map (..., T, d) to (..., m, d), keeping the batch axes"
        )
        assert _close(out, _segment_means(x, m)), (
            f"with T = {shape[-2]} and m = {m}, landmark j must be the MEAN of the contiguous "
            "segment of positions j*T/m ... (j+1)*T/m - 1: average over each segment (not one "
            "token every T/m positions, not a sum, and not interleaved positions j, j+m, ...)"
        )


@pytest.mark.points(2)
def test_segment_means_rejects_indivisible_lengths(submission):
    gen = torch.Generator().manual_seed(2)
    for T, m in ((10, 4), (7, 2), (9, 6)):
        x = _randn(2, T, 3, gen=gen)
        with pytest.raises(ValueError) as info:
            submission.segment_means(*_c(x), m)
        assert str(info.value).strip(), (
            "the ValueError should say what is wrong (T not divisible by num_landmarks)"
        )


# ---------------------------------------------------------------- iterative pseudo-inverse


@pytest.mark.points(6)
def test_iterative_pinv_follows_the_paper(submission):
    gen = torch.Generator().manual_seed(3)
    cases = (("row-stochastic (softmax) matrices", _softmax_matrices((2, 3), 6, gen)),
             ("general matrices with negative entries", _randn(4, 5, 5, gen=gen)))
    for name, a in cases:
        z0 = _t(submission.iterative_pinv(*_c(a), 0))
        assert z0.shape == a.shape, "iterative_pinv must return one (m, m) matrix per input matrix"
        assert _close(z0, _paper_pinv(a, 0)), (
            f"for {name}, iterative_pinv(a, n_iter=0) must return Z_0 = A^T / (||A||_1 ||A||_inf) "
            "for every matrix of the batch: ||A||_1 is the largest column sum of |A| "
            "(a.abs().sum(-2).amax(-1)), ||A||_inf the largest row sum of |A|, both per matrix, "
            "with absolute values, and Z_0 is the TRANSPOSE of A scaled"
        )
        for n_iter in (1, 2, 6):
            z = _t(submission.iterative_pinv(*_c(a), n_iter))
            assert _close(z, _paper_pinv(a, n_iter)), (
                f"for {name}, iterative_pinv(a, {n_iter}) must run exactly {n_iter} steps of "
                "Z <- 1/4 Z (13 I - A Z (15 I - A Z (7 I - A Z))) from Z_0 (check the "
                "coefficients 13, 15, 7 and 1/4, and that it is not Newton-Schulz Z (2I - A Z))"
            )


@pytest.mark.points(4)
def test_iterative_pinv_quality(submission):
    gen = torch.Generator().manual_seed(4)
    eye = torch.eye(8, dtype=DTYPE)
    a = torch.softmax(2.0 * eye + _randn(4, 8, 8, gen=gen, scale=0.5), dim=-1)  # well conditioned
    z = _t(submission.iterative_pinv(*_c(a), 10))
    assert z.dtype == a.dtype, "iterative_pinv must keep the dtype of its input"
    assert _close(z, torch.linalg.inv(a), rtol=1e-8), (
        "after 10 iterations on well-conditioned softmax matrices, iterative_pinv must agree with "
        "the exact inverse: the iteration converges (cubically) from Z_0 = A^T / (||A||_1 ||A||_inf)"
    )
    for condition, message in (
            (_close(a @ z @ a, a, 1e-8), "A Z A = A"), (_close(z @ a @ z, z, 1e-8), "Z A Z = Z"),
            (_close(a @ z, (a @ z).mT, 1e-8), "A Z symmetric"),
            (_close(z @ a, (z @ a).mT, 1e-8), "Z A symmetric")):
        assert condition, f"the result must satisfy the Moore-Penrose condition {message}"
    z32 = _t(submission.iterative_pinv(*_c(a.float()), 10))
    assert z32.dtype == torch.float32 and _close(z32, torch.linalg.inv(a), rtol=1e-4), (
        "iterative_pinv must also work in float32 (create the identity with a's dtype and device)"
    )
    # a general invertible matrix (negative entries), and a singular one: the PSEUDO-inverse
    u, _ = torch.linalg.qr(_randn(3, 6, 6, gen=gen))
    w, _ = torch.linalg.qr(_randn(3, 6, 6, gen=gen))
    spectrum = torch.linspace(1.0, 2.0, 6, dtype=DTYPE)
    general = u @ torch.diag_embed(spectrum.expand(3, 6)) @ w.mT  # condition number 2
    assert _close(_t(submission.iterative_pinv(*_c(general), 12)), torch.linalg.inv(general), 1e-8), (
        "on a general invertible matrix with negative entries, 12 iterations must reach the "
        "inverse: the norms of Z_0 are taken of |A| (absolute values), ||A||_1 the largest "
        "column sum and ||A||_inf the largest row sum, so that the eigenvalues of A Z_0 lie in (0, 1]"
    )
    spectrum = torch.tensor([1.0, 0.8, 0.6, 0.5, 0.0, 0.0], dtype=DTYPE)
    singular = u[0] @ torch.diag(spectrum) @ w[0].T  # rank 4
    assert _close(_t(submission.iterative_pinv(*_c(singular), 10)), torch.linalg.pinv(singular), 1e-7), (
        "on a singular (rank 4) matrix, 10 iterations must reach the Moore-Penrose "
        "pseudo-inverse: start from the transpose A^T (which lies in the right subspace), "
        "and do not add anything to make A invertible"
    )


@pytest.mark.points(5)
def test_iterative_pinv_per_matrix(submission):
    gen = torch.Generator().manual_seed(5)
    a = _softmax_matrices((2, 3), 8, gen)  # (B, H, m, m), different column sums
    z = _t(submission.iterative_pinv(*_c(a)))
    for b in range(2):
        for h in range(3):
            alone = _t(submission.iterative_pinv(*_c(a[b, h])))
            assert _close(alone, z[b, h]), (
                "iterative_pinv of one matrix alone must equal its entry in a batched call: "
                "every matrix must use ITS OWN norms ||A||_1 ||A||_inf (reduce the last two "
                "axes only, keep the batch axes); a max over the whole tensor, as the official "
                "code does, couples examples and heads"
            )
    rescaled = a.clone()
    rescaled[1, 2] = 10.0 * a[1, 2]
    z2 = _t(submission.iterative_pinv(*_c(rescaled)))
    others = torch.ones(2, 3, dtype=torch.bool)
    others[1, 2] = False
    assert _close(z2[others], z[others]), (
        "rescaling one matrix of the batch changed the result for the OTHER matrices: compute "
        "the norms of Z_0 per matrix, not as maxima over the batch"
    )
    assert _close(z2[1, 2], z[1, 2] / 10.0), (
        "the iteration is scale-equivariant: iterative_pinv(c A) = iterative_pinv(A) / c, "
        "because Z_0 scales by 1/c (when the norms are those of this matrix)"
    )


# ---------------------------------------------------------------- nystrom attention


def _formula_message(shape, m, n_iter):
    return (
        f"with q of shape {tuple(shape)}, m = {m}, n_iter = {n_iter}: nystrom_attention must "
        "return F (Z (B v)) with q~, k~ = segment_means(q, m), segment_means(k, m), "
        "F = softmax(q k~^T / sqrt(d)), A = softmax(q~ k~^T / sqrt(d)), "
        "B = softmax(q~ k^T / sqrt(d)) (every softmax over the LAST axis) and "
        "Z = iterative_pinv(A, n_iter) (pass n_iter on). The expected value was also built "
        "from YOUR segment_means and iterative_pinv on the same inputs, so this message is "
        "about nystrom_attention itself, not about those two functions"
    )


@pytest.mark.points(7)
def test_nystrom_matches_the_formula(submission):
    gen = torch.Generator().manual_seed(6)
    cases = (((2, 3, 24, 8), 8, 6, 6), ((2, 3, 24, 8), 5, 4, 3), ((16, 4), 4, 4, 6),
             ((2, 12, 8), 8, 3, 6))  # (q shape, d_v, num_landmarks, n_iter)
    for shape, d_v, m, n_iter in cases:
        q, k = _randn(*shape, gen=gen, scale=1.5), _randn(*shape, gen=gen, scale=1.5)
        v = _randn(*shape[:-1], d_v, gen=gen)
        out = _t(submission.nystrom_attention(*_c(q, k, v), m, n_iter))
        assert out.shape == v.shape, "nystrom_attention must return shape (..., T, d_v)"
        if _close(out, _nystrom(q, k, v, m, n_iter), RTOL):
            continue
        own = _own_nystrom(submission, q, k, v, m, n_iter)
        if own is not None and _consistent(out, own):
            continue
        unscaled = _own_nystrom(submission, q, k, v, m, n_iter, scale=1.0)
        assert not (_close(out, _nystrom(q, k, v, m, n_iter, scale=1.0), RTOL)
                    or unscaled is not None and _consistent(out, unscaled)), (
            "nystrom_attention is missing the 1/sqrt(d) scaling: every kernel is "
            "softmax(. / sqrt(d)) with d = q.shape[-1], as in softmax_attention"
        )
        assert False, _formula_message(shape, m, n_iter)


@pytest.mark.points(4)
def test_nystrom_exact_when_landmarks_are_tokens(submission):
    gen = torch.Generator().manual_seed(7)
    for shape in ((2, 2, 16, 8), (12, 4)):
        q, k, v = (_randn(*shape, gen=gen) for _ in range(3))
        T = shape[-2]
        out = _t(submission.nystrom_attention(*_c(q, k, v), T, 30))
        if _close(out, F.scaled_dot_product_attention(q, k, v), RTOL):
            continue
        # the same limit with the student's own segment_means and iterative_pinv
        own = _own_nystrom(submission, q, k, v, T, 30)
        assert own is not None and _consistent(out, own), (
            "with one landmark per token (num_landmarks = T) and 30 iterations, F = A = B = "
            "softmax(q k^T / sqrt(d)) and F A^+ B v must equal exact softmax attention "
            "(compared also with the same formula built from your own segment_means and "
            "iterative_pinv); check the scaling and that every softmax runs over the last axis"
        )


# The cost test: one long sequence. A T x T float32 matrix is 4 T^2 bytes = 256 GiB at
# T = 2^18 (the worker's cgroup allows 4 GiB, a CUDA worker's allocator 8 GiB), and the
# quadratic products, even in blocks of rows, 2 T^2 (m + d) = 6.6e12 flops: minutes on a
# CPU. The reference's call takes 0.3-2.7 s (docs/BENCHMARKS.md). q, k, v and the output
# are 16 MiB each over the worker's channel (batch and heads 1, d = 16).
COST_T, COST_D, COST_M = 2**18, 16, 32
COST_T0 = 2**14  # distinct tokens: each one is repeated COST_T // COST_T0 = 16 times
COST_LIMIT_S = 15


def _short_inputs(T, d, gen):
    """q, k, v of shape (1, 1, T, d) in float32: random waves of frequencies 1 to 4 per
    feature (a (T, 8) sine/cosine basis times random weights) plus noise, so the landmarks
    differ and the output varies along T; q and k halved, so that float32 rounding stays
    near 1e-6 of the output (sharper attention makes pinv(A) ill-conditioned)."""
    t = torch.linspace(0, 2 * math.pi, T, dtype=torch.float32).view(T, 1)
    freq = torch.arange(1, 5, dtype=torch.float32)
    basis = torch.cat([torch.sin(freq * t), torch.cos(freq * t)], dim=1)  # (T, 8)
    out = []
    for scale in (0.5, 0.5, 1.0):
        waves = basis @ torch.randn(8, d, generator=gen)  # (T, d)
        noise = 0.3 * torch.randn(T, d, generator=gen)
        out.append((scale * (waves + noise)).view(1, 1, T, d))
    return out


@pytest.mark.points(6)
@pytest.mark.time_limit(COST_LIMIT_S)
def test_nystrom_cost_linear_in_T(submission):
    """One call at T = 2^18 within the worker's memory and a 15 s limit. Its values are
    checked against the student's own output on the 2^14 distinct tokens (each row
    repeated 16 times), which is what any Nystrom formula built from softmaxes over the
    last axis gives: the test judges the cost, the formula is judged elsewhere."""
    gen = torch.Generator().manual_seed(10)
    q0, k0, v0 = _short_inputs(COST_T0, COST_D, gen)
    short = _t(submission.nystrom_attention(*_c(q0, k0, v0), COST_M))
    assert short.shape == v0.shape, "nystrom_attention must return shape (..., T, d_v)"
    flipped = _t(submission.nystrom_attention(*_c(q0.flip(-2), k0, v0), COST_M))
    assert not _close(flipped, short, 1e-3), (
        "nystrom_attention's output does not depend on the queries: it must be attention, "
        "F (Z (B v)) with F = softmax(q k~^T / sqrt(d))"
    )
    repeat = COST_T // COST_T0
    q, k, v = (x.repeat_interleave(repeat, dim=-2) for x in (q0, k0, v0))  # (1, 1, T, d)
    out = _t(submission.nystrom_attention(q, k, v, COST_M))
    assert out.shape == v.shape, "nystrom_attention must return shape (..., T, d_v)"
    # float32 rounding is ~1e-6 here (the reference, and the alternative implementation)
    assert _close(out, short.repeat_interleave(repeat, dim=-2), rtol=1e-4), (
        f"at T = {COST_T} tokens (d = {COST_D}, m = {COST_M} landmarks, float32), made of "
        f"{COST_T0} distinct tokens each repeated {repeat} times, nystrom_attention ran in "
        "time and memory but did not return its own output for the "
        f"{COST_T0} distinct tokens with every row repeated {repeat} times, which is what "
        "F (Z (B v)) gives (the landmarks, and so A and Z, are the same for both sequences); "
        "check that nothing depends on the sequence being short, that every softmax runs over "
        "the last axis, and that the softmaxes are computed stably"
    )


# ---------------------------------------------------------------- the layer


def _attention_candidates(submission, q, k, v, m, n_iter):
    """What the layer's attention core may be: the formula computed here, or the
    student's own nystrom_attention on the heads projected here."""
    candidates = [_nystrom(q, k, v, m, n_iter)]
    try:
        own = _t(submission.nystrom_attention(*_c(q, k, v), m, n_iter)).to(DTYPE)
    except Exception:
        return candidates
    if own.shape == v.shape:
        candidates.append(own)
    return candidates


def _matching(actual, candidates, make):
    """The first candidate attention `att` with actual close to make(att), else None."""
    for att in candidates:
        if _close(actual, make(att), RTOL):
            return att
    return None


@pytest.mark.points(3)
def test_self_attention_parameters(submission):
    layer = submission.NystromSelfAttention(16, 4, 4, n_iter=6, conv_kernel=5)
    state = layer.state_dict()
    expected = {f"{n}.{p}": (16, 16) if p == "weight" else (16,)
                for n in ("q_proj", "k_proj", "v_proj", "out_proj") for p in ("weight", "bias")}
    expected["conv.weight"] = (4, 1, 5, 1)
    for key, shape in expected.items():
        assert key in state and tuple(state[key].shape) == shape, (
            f"state_dict entry '{key}' is missing or has the wrong shape: q_proj, k_proj, "
            "v_proj, out_proj are biased nn.Linear(d_model, d_model), conv is nn.Conv2d(n_heads, "
            "n_heads, (conv_kernel, 1), padding=(conv_kernel // 2, 0), groups=n_heads, bias=False)"
        )
    assert "conv.bias" not in state, "the skip convolution has no bias (bias=False)"
    default = submission.NystromSelfAttention(16, 4, 4)
    assert tuple(default.state_dict()["conv.weight"].shape) == (4, 1, 33, 1), (
        "the default conv_kernel is 33"
    )
    x = torch.randn(2, 12, 16)
    assert tuple(_t(layer(x)).shape) == (2, 12, 16), (
        "NystromSelfAttention must map (B, T, d_model) to (B, T, d_model)"
    )


@pytest.mark.points(5)
def test_conv_skip(submission):
    """The layer's wiring and its skip, with the attention core the formula or the
    student's own nystrom_attention (n_iter = 3: a diverging student pinv stays finite)."""
    gen = torch.Generator().manual_seed(11)
    d_model, H, m, n_iter, K, T = 8, 2, 4, 3, 5, 16
    layer = _new_layer(submission, d_model, H, m, n_iter, K)
    params = _layer_params(d_model, H, K, gen)
    params["conv.weight"] = torch.zeros(H, 1, K, 1, dtype=DTYPE)
    _load(layer, params)
    x = _randn(2, T, d_model, gen=gen)
    plain = _t(layer(*_c(x)))
    q, k, v = (_heads(x, params, n, H) for n in ("q_proj", "k_proj", "v_proj"))
    attention = _matching(plain, _attention_candidates(submission, q, k, v, m, n_iter),
                          lambda att: _merge(att, params))
    assert attention is not None, (
        "with conv.weight = 0 the layer must be pure Nystrom attention: project with q_proj, "
        "k_proj, v_proj, split heads with view(B, T, H, d_head).transpose(1, 2), apply your "
        "nystrom_attention(q, k, v, num_landmarks, n_iter) to all heads at once, merge with "
        "transpose(1, 2) then reshape(B, T, d_model), then out_proj (the expected value uses "
        "your own nystrom_attention, so this is about the layer's wiring)"
    )
    weight = torch.zeros(H, 1, K, 1, dtype=DTYPE)
    weight[0, 0, K // 2 + 1, 0] = 1.0  # head 0: skip[t] = v[t + 1]
    weight[1, 0, K // 2 - 2, 0] = -0.5  # head 1: skip[t] = -0.5 v[t - 2]
    _load(layer, {"conv.weight": weight})
    out = _t(layer(*_c(x)))
    assert _close(out, _merge(attention + _skip(v, weight), params), RTOL), (
        "the skip must be the depthwise convolution of each head's VALUES over the sequence, "
        "skip[b, h, t] = sum_j w[h, j] v[b, h, t + j - K//2] (zeros past either end), added to "
        "the attention output BEFORE merging heads and out_proj: apply self.conv to v of shape "
        "(B, H, T, d_head), not to x or q"
    )


@pytest.mark.points(6)
def test_self_attention_matches_the_formula(submission):
    gen = torch.Generator().manual_seed(12)
    for d_model, H, m, n_iter, K, T in ((12, 3, 4, 3, 7, 16), (8, 1, 8, 2, 3, 16),
                                        (16, 4, 2, 3, 33, 8)):
        layer = _new_layer(submission, d_model, H, m, n_iter, K)
        params = _layer_params(d_model, H, K, gen)
        _load(layer, params)
        x = _randn(2, T, d_model, gen=gen)
        out = _t(layer(*_c(x)))
        assert out.shape == x.shape, "NystromSelfAttention must map (B, T, d_model) to (B, T, d_model)"
        q, k, v = (_heads(x, params, n, H) for n in ("q_proj", "k_proj", "v_proj"))
        skip = _skip(v, params["conv.weight"])
        attention = _matching(out, _attention_candidates(submission, q, k, v, m, n_iter),
                              lambda att: _merge(att + skip, params))
        assert attention is not None, (
            f"with d_model = {d_model}, {H} head(s), {m} landmarks, n_iter = {n_iter}, "
            f"conv_kernel = {K}: out must be out_proj(merge(nystrom_attention(q, k, v, "
            "num_landmarks, n_iter) + conv(v))), head h using features [h*d_head, (h+1)*d_head) "
            "of q_proj/k_proj/v_proj (split with view(B, T, H, d_head).transpose(1, 2), merged "
            "back with transpose(1, 2) before reshape); use the layer's n_iter (the expected "
            "value uses your own nystrom_attention, so this is about the layer)"
        )


# ---------------------------------------------------------------- contracts


@pytest.mark.points(1)
def test_indivisible_lengths_rejected_everywhere(submission):
    """nystrom_attention and the layer's forward raise the ValueError of segment_means
    for a length T that num_landmarks does not divide. Judged only where the student's
    own segment_means raises it (a segment_means that does not is charged in its test)."""
    gen = torch.Generator().manual_seed(13)
    q, k, v = (_randn(2, 10, 4, gen=gen) for _ in range(3))
    try:
        submission.segment_means(*_c(q), 4)
    except ValueError:
        pass
    else:
        return
    with pytest.raises(ValueError):
        submission.nystrom_attention(*_c(q, k, v), 4)
    layer = _new_layer(submission, 8, 2, 4, 3, 1)
    with pytest.raises(ValueError):
        layer(_randn(2, 10, 8, gen=gen))


@pytest.mark.points(2)
def test_dtype_kept(submission):
    """float64 inputs give float64 outputs, float32 inputs float32 outputs, for every
    function and the layer (conv_kernel = 1, so that a skip convolution built without
    padding, charged in the layer's tests, does not fail here)."""
    gen = torch.Generator().manual_seed(14)
    for dtype in (torch.float64, torch.float32):
        q, k, v = (_randn(2, 2, 16, 8, gen=gen).to(dtype) for _ in range(3))
        a = _softmax_matrices((2, 2), 4, gen).to(dtype)
        outputs = (
            ("softmax_attention(q, k, v)", submission.softmax_attention(*_c(q, k, v))),
            ("segment_means(x, 4)", submission.segment_means(*_c(q), 4)),
            ("iterative_pinv(a, 6)", submission.iterative_pinv(*_c(a), 6)),
            ("nystrom_attention(q, k, v, 4)", submission.nystrom_attention(*_c(q, k, v), 4)),
        )
        for name, out in outputs:
            assert _t(out).dtype == dtype, (
                f"{name} returned {_t(out).dtype} for {dtype} inputs: every function must keep "
                "the dtype of its inputs (create new tensors, such as the identity, with "
                "dtype=x.dtype and device=x.device, and do not cast)"
            )
        layer = submission.NystromSelfAttention(8, 2, 4, n_iter=3, conv_kernel=1)
        if dtype == torch.float64:
            layer.double()
        assert _t(layer(_randn(2, 16, 8, gen=gen).to(dtype))).dtype == dtype, (
            f"NystromSelfAttention with {dtype} weights must return {dtype} for {dtype} inputs"
        )


@pytest.mark.points(2)
@pytest.mark.worker_reported
def test_inputs_left_unmodified(submission, recipe):
    """No function, and not the layer, changes its argument tensors in place (seen by the
    arguments probe in the worker: worker_reported). float32 inputs and conv_kernel = 1,
    so that bugs charged elsewhere (a float64 failure, a skip without padding) do not
    fail here."""
    gen = torch.Generator().manual_seed(15)
    probe = recipe("arguments_probe")
    q, k, v = (_randn(2, 2, 16, 8, gen=gen).float() for _ in range(3))
    a = _softmax_matrices((2, 2), 4, gen).float()
    calls = (("softmax_attention", submission.softmax_attention, (q, k, v)),
             ("segment_means", submission.segment_means, (q, 4)),
             ("iterative_pinv", submission.iterative_pinv, (a, 3)),
             ("nystrom_attention", submission.nystrom_attention, (q, k, v, 4, 3)))
    for name, fn, args in calls:
        args = [x.clone() if isinstance(x, torch.Tensor) else x for x in args]
        changed = probe.changed(fn, *args)
        assert not changed, (
            f"{name} changed its argument(s) {', '.join(changed)} in place: compute new tensors "
            "(q = q / s, not q /= s or q.div_(s)); the caller's tensors must stay as they were"
        )
    layer = submission.NystromSelfAttention(8, 2, 4, n_iter=3, conv_kernel=1)
    changed = probe.changed(layer, _randn(2, 16, 8, gen=gen).float())
    assert not changed, (
        f"NystromSelfAttention.forward changed its input {', '.join(changed)} in place"
    )


# ---------------------------------------------------------------- device


@pytest.mark.gpu
@pytest.mark.points(0)
def test_cuda_tensors(submission):
    """CUDA tensors in: every function and the layer give what they give on the CPU (no
    points: only a machine with a GPU runs it)."""
    cuda = torch.device("cuda")
    gen = torch.Generator().manual_seed(16)
    q, k, v = (_randn(2, 2, 32, 8, gen=gen) for _ in range(3))
    a = _softmax_matrices((2, 2), 8, gen)
    calls = (("softmax_attention", submission.softmax_attention, (q, k, v)),
             ("segment_means", submission.segment_means, (q, 8)),
             ("iterative_pinv", submission.iterative_pinv, (a, 6)),
             ("nystrom_attention", submission.nystrom_attention, (q, k, v, 8, 6)))
    for name, fn, args in calls:
        on_cpu = _t(fn(*[x.clone() if isinstance(x, torch.Tensor) else x for x in args]))
        on_gpu = _t(fn(*[x.to(cuda) if isinstance(x, torch.Tensor) else x for x in args]))
        assert _close(on_gpu, on_cpu, 1e-8), (
            f"{name} gives other values for CUDA tensors: create new tensors on the input's "
            "device (device=x.device)"
        )
    layer = _new_layer(submission, 8, 2, 8, 6, 5)
    _load(layer, _layer_params(8, 2, 5, gen))
    x = _randn(2, 32, 8, gen=gen)
    on_cpu = _t(layer(x.clone()))
    layer.to("cuda")
    assert _close(_t(layer(x.to(cuda))), on_cpu, 1e-8), (
        "NystromSelfAttention moved to CUDA gives other values than on the CPU"
    )
