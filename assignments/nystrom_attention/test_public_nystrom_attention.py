"""Public tests of the `nystrom_attention` module: quick shape and sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite checks
values against independent computations, the pseudo-inverse iteration step by step,
the cost of your code (one call on a sequence of 262144 tokens, within the memory and
time limits) and the layer.
"""
import pytest
import torch


@pytest.mark.points(0)
def test_public_softmax_attention_shape(submission):
    q, k, v = torch.randn(2, 3, 10, 8), torch.randn(2, 3, 10, 8), torch.randn(2, 3, 10, 5)
    out = submission.softmax_attention(q, k, v)
    assert out.shape == (2, 3, 10, 5), "softmax_attention must return shape (..., T, d_v)"
    same = torch.ones(1, 4, 2)
    assert torch.allclose(submission.softmax_attention(torch.randn(1, 4, 2), torch.randn(1, 4, 2), same),
                          same, atol=1e-6), (
        "the output rows are weighted AVERAGES of the value rows: equal values give that value"
    )


@pytest.mark.points(0)
def test_public_segment_means_small(submission):
    x = torch.arange(6.0).reshape(6, 1)  # T = 6, d = 1
    out = submission.segment_means(x, 3)
    assert out.shape == (3, 1), "segment_means(x, m) must map (..., T, d) to (..., m, d)"
    assert torch.allclose(out[:, 0], torch.tensor([0.5, 2.5, 4.5])), (
        "landmark j is the mean of the contiguous segment j (positions {0,1}, {2,3}, {4,5})"
    )
    with pytest.raises(ValueError):
        submission.segment_means(x, 4)  # 6 is not a multiple of 4


@pytest.mark.points(0)
def test_public_iterative_pinv_identity(submission):
    eye = torch.eye(5).expand(2, 3, 5, 5).clone()
    z = submission.iterative_pinv(eye)
    assert z.shape == (2, 3, 5, 5), "iterative_pinv must return one (m, m) matrix per input matrix"
    assert torch.allclose(z, eye, atol=1e-5), "the pseudo-inverse of the identity is the identity"


@pytest.mark.points(0)
def test_public_nystrom_shapes(submission):
    q, k, v = torch.randn(2, 4, 32, 8), torch.randn(2, 4, 32, 8), torch.randn(2, 4, 32, 8)
    out = submission.nystrom_attention(q, k, v, 8)
    assert out.shape == (2, 4, 32, 8), "nystrom_attention must return shape (..., T, d_v)"
    assert torch.isfinite(out).all(), "nystrom_attention returned non-finite values"
    layer = submission.NystromSelfAttention(16, 4, 4, conv_kernel=5)
    x = torch.randn(2, 12, 16)
    assert layer(x).shape == (2, 12, 16), "NystromSelfAttention must map (B, T, d) to (B, T, d)"
