"""Hidden suite of the `vae` module (Kingma & Welling 2014; IWAE: Burda et al. 2016).

Fixtures (engine plugin): `submission` (the student's definitions), `reference`
(unused: every expected value comes from `torch.distributions` or from formulas computed
in this file, applied to the outputs of the student's own `encode` / `decode`), `device`
(ignored: everything runs on the CPU).

Bugs this suite catches (one line each, then the tests that catch it):
- KL with the wrong sign                                 -> test_gaussian_kl_matches_torch_distributions, test_gaussian_kl_sums_over_latent_dims, test_elbo_matches_monte_carlo
- KL without the factor 1/2                              -> test_gaussian_kl_matches_torch_distributions, test_elbo_matches_monte_carlo
- KL averaged over the latent dimensions (not summed)    -> test_gaussian_kl_matches_torch_distributions, test_gaussian_kl_sums_over_latent_dims, test_elbo_matches_monte_carlo
- KL treating logvar as log sigma (exp(2 logvar))        -> test_gaussian_kl_matches_torch_distributions, test_elbo_matches_monte_carlo
- reparameterize with std = exp(logvar) (no 1/2)         -> test_reparameterize_statistics
- reparameterize returning mu (no noise)                 -> test_reparameterize_statistics, test_vae_encode_decode_forward
- reparameterize with one noise vector for the batch     -> test_reparameterize_statistics
- reparameterize cutting the gradient (torch.normal)     -> test_gradient_flows_through_sample
- log-likelihood via log(sigmoid(.)) (inf / nan)         -> test_bernoulli_log_likelihood_extreme_logits
- log-likelihood via F.binary_cross_entropy(sigmoid(.))  -> test_bernoulli_log_likelihood_extreme_logits
- log-likelihood averaged over pixels (not summed)       -> test_bernoulli_log_likelihood_matches_torch, test_bernoulli_log_likelihood_sums_over_pixels, test_elbo_matches_monte_carlo
- decode returning probabilities (a sigmoid) not logits  -> test_vae_encode_decode_forward, test_train_vae_contract
- forward decoding the mean mu instead of a sample       -> test_vae_encode_decode_forward
- elbo adding the KL term instead of subtracting it      -> test_elbo_matches_monte_carlo, test_iwae_bound_ordering
- IWAE averaging log w (mean, not logsumexp)             -> test_iwae_matches_monte_carlo, test_iwae_bound_ordering
- IWAE missing the - log k                               -> test_iwae_matches_monte_carlo
- IWAE log q(z|x) without the log sigma term             -> test_iwae_matches_monte_carlo, test_iwae_bound_ordering
- train_vae maximising the loss (ascending -ELBO)        -> test_train_vae_contract
- train_vae never calling zero_grad                      -> test_train_vae_contract
- train_vae reporting the loss summed over the batch     -> test_train_vae_contract
- (anything that stops real learning)                    -> test_train_vae_contract, test_train_on_digits

Rules kept here so the suite also runs through the engine's RPC proxy: student objects
are only called, constructed, read, and set through `state_dict` / `load_state_dict`;
no student tensor is written in place, no callable is passed to student code, and
randomness of student code is judged by statistics (means, standard deviations and
expectations over many samples, with tolerances of at least five standard errors),
never by values under a seed. Gradients cannot cross the channel, so gradient flow
through the sample is judged by what the student's own training achieves.
"""
import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributions as D

ATOL = 1e-4
N_TRAIN = 1500  # the first 1500 digits train, the remaining 297 are held out
THRESHOLD_NATS = 21.0  # held-out negative ELBO the trained VAE must beat (stated in the notebook)


# ---------------------------------------------------------------- helpers


def _t(x):
    """A returned tensor as plain data (detached)."""
    assert isinstance(x, torch.Tensor), "expected a torch.Tensor to be returned"
    return x.detach()


@functools.lru_cache(maxsize=1)
def _load_digits():
    """The grey levels of `sklearn.datasets.load_digits().data`, read from the file that
    scikit-learn ships, without importing scikit-learn (seconds per suite run)."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        grey = np.loadtxt(path, delimiter=",")[:, :-1]  # the last column is the label
    else:  # another layout: ask scikit-learn itself
        from sklearn.datasets import load_digits
        grey = load_digits().data
    return (torch.tensor(grey, dtype=torch.float32) > 7).float()


def _digits():
    """scikit-learn's 8x8 digits binarised at grey level > 7: (1797, 64) float32 (a copy)."""
    return _load_digits().clone()


def _kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example, by torch.distributions."""
    q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = D.Independent(D.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return D.kl_divergence(q, p)


def _log_px_z(logits, x):
    """log p(x | z) of Bernoulli pixels given logits, by torch.distributions."""
    return D.Independent(D.Bernoulli(logits=logits), 1).log_prob(x.expand_as(logits))


def _encode(model, x):
    result = model.encode(x)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "VAE.encode(x) must return a tuple (mu, logvar)"
    )
    mu, logvar = _t(result[0]), _t(result[1])
    assert mu.shape == logvar.shape == (x.shape[0], mu.shape[-1]), (
        "encode must return mu and logvar of shape (B, z_dim) each"
    )
    return mu, logvar


def _decode(model, z):
    """The student's decoder on z (..., z_dim), called on a 2-D batch."""
    flat = z.reshape(-1, z.shape[-1])
    logits = _t(model.decode(flat))
    assert logits.shape[0] == flat.shape[0], "decode must map (B, z_dim) to (B, x_dim) logits"
    return logits.reshape(*z.shape[:-1], logits.shape[-1])


def _vae(submission, x_dim, z_dim, hidden_dim, gain=1.0, seed=0):
    """A student VAE with random weights of a known scale (any architecture: only the
    parameter shapes are used): matrices N(0, gain^2 / fan_in), vectors (biases) around
    -0.5. The KL terms, IWAE gaps and log sigma terms are then clearly non-zero."""
    model = submission.VAE(x_dim, z_dim, hidden_dim)
    names = [name for name, _ in model.named_parameters()]
    gen = torch.Generator().manual_seed(seed)
    state = dict(model.state_dict())
    for name in names:
        shape = state[name].shape
        if len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            state[name] = gain * torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        else:
            state[name] = -0.5 + 0.2 * torch.randn(shape, generator=gen)
    model.load_state_dict(state)
    model.eval()
    return model


def _neg_elbo(model, x, samples=20):
    """The grader's own estimate of the mean negative ELBO of `model` on x (nats per
    example): closed-form KL plus a Monte-Carlo reconstruction term (samples per example)."""
    mu, logvar = _encode(model, x)
    z = D.Normal(mu, torch.exp(0.5 * logvar)).sample((samples,))  # (S, B, z_dim)
    recon = _log_px_z(_decode(model, z), x).mean(0)  # (B,)
    return -(recon - _kl(mu, logvar)).mean().item()


def _repeated(call, x, repeats):
    """Call a student estimator on x repeated `repeats` times: (repeats, B) samples."""
    out = _t(call(x.repeat(repeats, 1)))
    assert out.shape == (repeats * x.shape[0],), (
        "the estimate must have shape (B,): one value per example, no reduction over the batch"
    )
    return out.reshape(repeats, x.shape[0]).double()


def _close_in_expectation(student, trusted, sigmas=6.0):
    """Per-example and overall means agree within `sigmas` standard errors.

    student, trusted: (R, B) independent samples. Returns (per_example_ok, overall_ok).
    """
    r_s, r_t = student.shape[0], trusted.shape[0]
    diff = student.mean(0) - trusted.mean(0)  # (B,)
    var = student.var(0) / r_s + trusted.var(0) / r_t  # (B,)
    per_example = bool(torch.all(diff.abs() <= sigmas * var.sqrt() + 1e-3))
    overall = abs(diff.mean().item()) <= sigmas * math.sqrt(var.sum().item()) / diff.numel() + 1e-3
    return per_example, overall


def _trusted_iwae(model, x, k, repeats):
    """The grader's own samples of the IWAE estimate: (repeats, B)."""
    mu, logvar = _encode(model, x)
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((k, repeats))  # (k, R, B, z_dim)
    log_w = (_log_px_z(_decode(model, z), x)
             + D.Normal(0.0, 1.0).log_prob(z).sum(-1)
             - q.log_prob(z).sum(-1))  # (k, R, B)
    return torch.logsumexp(log_w.double(), dim=0) - math.log(k)  # (R, B)


# ---------------------------------------------------------------- reparameterize


@pytest.mark.points(6)
def test_reparameterize_statistics(submission):
    n = 20000
    mu_row = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    logvar_row = torch.tensor([0.0, -2.0, 1.5, -6.0])  # std 1, 0.37, 2.12, 0.05
    mu, logvar = mu_row.expand(n, 4).clone(), logvar_row.expand(n, 4).clone()
    z = _t(submission.reparameterize(mu, logvar))
    assert z.shape == mu.shape, "reparameterize must return a tensor of the shape of mu"
    assert torch.all(torch.isfinite(z)), "reparameterize returned inf or nan"
    eps = (z.double() - mu.double()) / torch.exp(0.5 * logvar.double())  # should be N(0, 1)
    spread = eps.std(0)
    assert torch.all(spread > 0.5), (
        "the samples do not vary (or barely): z must be mu + exp(0.5 * logvar) * eps with "
        "fresh noise eps ~ N(0, 1) for every entry (torch.randn_like), not mu alone, and not "
        "one noise vector shared by the whole batch"
    )
    assert torch.all(eps.mean(0).abs() < 0.05), (
        "the sample mean of z must be mu: z = mu + std * eps with zero-mean noise"
    )
    assert torch.all((spread - 1.0).abs() < 0.05), (
        "the standard deviation of z must be exp(0.5 * logvar): logvar is the log of the "
        "VARIANCE, so std = exp(logvar / 2), not exp(logvar)"
    )
    inside = (eps.abs() < 1.0).double().mean(0)
    assert torch.all((inside - 0.6827).abs() < 0.02), (
        "the noise must be standard normal (torch.randn_like), about 68% of it within one "
        "standard deviation; not uniform (torch.rand) or another distribution"
    )
    corr = torch.corrcoef(eps.T)  # (4, 4)
    assert torch.all((corr - torch.eye(4, dtype=corr.dtype)).abs() < 0.05), (
        "the noise of different latent dimensions must be independent: draw one eps per "
        "entry (shape of mu), not one per example broadcast over the dimensions"
    )
    z2 = _t(submission.reparameterize(mu, logvar))
    assert not torch.allclose(z, z2), "every call must draw fresh noise"
    mu3, logvar3 = torch.randn(5, 3, 2), torch.randn(5, 3, 2)
    assert _t(submission.reparameterize(mu3, logvar3)).shape == (5, 3, 2), (
        "reparameterize must work for any shape, e.g. (k, B, z_dim)"
    )


@pytest.mark.points(5)
@pytest.mark.time_limit(60)
def test_gradient_flows_through_sample(submission):
    torch.manual_seed(1)
    data = _digits()
    model = submission.VAE(64, 8, 128)
    submission.train_vae(model, data[:N_TRAIN], 10, 64, 3e-3, 0)
    model.eval()
    mu, logvar = _encode(model, data[N_TRAIN:])
    kl = _kl(mu, logvar).mean().item()
    assert math.isfinite(kl) and kl > 1.0, (
        "after 10 epochs of train_vae, the encoder's q(z|x) is (almost) the prior for every "
        "image (KL(q(z|x) || p(z)) near 0): the code carries no information about x. This "
        "is what happens when the reconstruction term's gradient never reaches mu and "
        "logvar, i.e. when the sample z is cut from the graph (.detach(), torch.no_grad(), "
        "or torch.normal(mu, std), which has no gradient with respect to mu and std). Build "
        "z = mu + exp(0.5 * logvar) * eps from the tensors themselves, and train on elbo"
    )


# ---------------------------------------------------------------- KL


@pytest.mark.points(5)
def test_gaussian_kl_matches_torch_distributions(submission):
    torch.manual_seed(2)
    cases = [
        (2.0 * torch.randn(7, 5), 1.5 * torch.randn(7, 5)),
        (torch.randn(1, 1), torch.randn(1, 1)),
        (torch.randn(3, 20), torch.empty(3, 20).uniform_(-8.0, 5.0)),  # extreme variances
        (torch.zeros(2, 4), torch.full((2, 4), -3.0)),  # only the variance term
    ]
    for mu, logvar in cases:
        kl = _t(submission.gaussian_kl(mu, logvar))
        assert kl.shape == (mu.shape[0],), (
            "gaussian_kl must return shape (B,): one KL per example, summed over the latent "
            "dimensions"
        )
        expected = _kl(mu, logvar)
        if torch.allclose(kl, expected, rtol=1e-4, atol=ATOL):
            continue
        assert not torch.allclose(kl, -expected, rtol=1e-4, atol=ATOL), (
            "gaussian_kl has the wrong sign: a KL divergence is >= 0; it is "
            "+0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)"
        )
        assert not torch.allclose(kl, 2.0 * expected, rtol=1e-4, atol=ATOL), (
            "gaussian_kl is twice too large: the closed form has a factor 1/2"
        )
        assert not torch.allclose(kl, expected / mu.shape[1], rtol=1e-4, atol=ATOL), (
            "gaussian_kl averages over the latent dimensions: it must SUM over them"
        )
        assert False, (
            "gaussian_kl(mu, logvar) must equal KL(N(mu, diag(exp(logvar))) || N(0, I)) = "
            "0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j); logvar is the log of the "
            "VARIANCE sigma^2 (not of sigma), so sigma^2 = exp(logvar)"
        )


@pytest.mark.points(3)
def test_gaussian_kl_sums_over_latent_dims(submission):
    torch.manual_seed(3)
    zero = _t(submission.gaussian_kl(torch.zeros(3, 6), torch.zeros(3, 6)))
    assert zero.shape == (3,) and torch.allclose(zero, torch.zeros(3), atol=1e-6), (
        "KL(N(0, I) || N(0, I)) must be 0 for every example: gaussian_kl(0, 0) = zeros(B)"
    )
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    kl = _t(submission.gaussian_kl(mu, logvar))
    assert torch.all(kl >= 0), "a KL divergence is never negative"
    doubled = _t(submission.gaussian_kl(torch.cat([mu, mu], 1), torch.cat([logvar, logvar], 1)))
    assert torch.allclose(doubled, 2.0 * kl, rtol=1e-4, atol=ATOL), (
        "repeating every latent dimension twice must double the KL: the KL of a diagonal "
        "Gaussian is a SUM over the latent dimensions (not a mean)"
    )
    for i in range(4):
        alone = _t(submission.gaussian_kl(mu[i:i + 1], logvar[i:i + 1]))
        assert torch.allclose(alone, kl[i:i + 1], rtol=1e-4, atol=ATOL), (
            "gaussian_kl must treat every example (row) separately: reduce over the last "
            "axis only, never over the batch"
        )


# ---------------------------------------------------------------- Bernoulli likelihood


@pytest.mark.points(3)
def test_bernoulli_log_likelihood_matches_torch(submission):
    torch.manual_seed(4)
    for shape in ((6, 64), (1, 5), (3, 4, 10)):
        logits = 3.0 * torch.randn(shape)
        x = (torch.rand(shape) < 0.4).float()
        out = _t(submission.bernoulli_log_likelihood(logits, x))
        assert out.shape == shape[:-1], (
            "bernoulli_log_likelihood must return one value per example: shape (B,) for "
            "(B, D) inputs (and (...,) for (..., D)), summed over the last axis"
        )
        expected = D.Bernoulli(logits=logits).log_prob(x).sum(-1)
        assert torch.allclose(out, expected, rtol=1e-4, atol=ATOL), (
            "bernoulli_log_likelihood(logits, x) must equal "
            "torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1) = "
            "sum_j [x_j * logits_j - softplus(logits_j)], summed (not averaged) over pixels"
        )


@pytest.mark.points(3)
def test_bernoulli_log_likelihood_extreme_logits(submission):
    logits = torch.tensor([[50.0, -50.0, 50.0, -50.0, 100.0, -100.0, 20.0, -20.0, 0.0],
                           [90.0, -90.0, 30.0, -30.0, 17.0, -17.0, 60.0, -60.0, 5.0]])
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
                      [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    out = _t(submission.bernoulli_log_likelihood(logits, x))
    assert out.shape == (2,), "bernoulli_log_likelihood must return shape (B,)"
    assert torch.all(torch.isfinite(out)), (
        "bernoulli_log_likelihood returned inf or nan for confident logits (+-50): in "
        "float32 sigmoid(50) is exactly 1, so log(1 - sigmoid(50)) = -inf. Never take "
        "log(sigmoid(.)); use log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = "
        "-softplus(l), i.e. x * l - softplus(l) (or -F.binary_cross_entropy_with_logits)"
    )
    expected = D.Bernoulli(logits=logits).log_prob(x).sum(-1)
    assert torch.allclose(out, expected, rtol=1e-4, atol=1e-3), (
        "for confident logits the log-likelihood must still be exact (a wrong pixel at "
        "logit 50 costs 50 nats): clamping, as F.binary_cross_entropy on probabilities does "
        "at -100, or adding an epsilon inside the log gives wrong values; compute from the "
        "logits with softplus"
    )


@pytest.mark.points(2)
def test_bernoulli_log_likelihood_sums_over_pixels(submission):
    torch.manual_seed(5)
    zero = _t(submission.bernoulli_log_likelihood(torch.zeros(3, 64), torch.ones(3, 64)))
    assert torch.allclose(zero, torch.full((3,), -64 * math.log(2.0)), atol=1e-3), (
        "with all logits 0 every pixel has probability 1/2, so an image of 64 pixels has "
        "log-likelihood 64 * log(1/2): sum over the pixels, do not average"
    )
    logits, x = torch.randn(4, 10), (torch.rand(4, 10) < 0.5).float()
    single = _t(submission.bernoulli_log_likelihood(logits, x))
    doubled = _t(submission.bernoulli_log_likelihood(torch.cat([logits, logits], 1),
                                                     torch.cat([x, x], 1)))
    assert torch.allclose(doubled, 2.0 * single, rtol=1e-4, atol=ATOL), (
        "repeating every pixel twice must double the log-likelihood (independent pixels: "
        "a sum over the last axis)"
    )
    assert torch.all(single <= 0), "a log-probability of binary data is never positive"


# ---------------------------------------------------------------- VAE


@pytest.mark.points(4)
def test_vae_encode_decode_forward(submission):
    torch.manual_seed(6)
    for x_dim, z_dim, hidden in ((64, 8, 32), (20, 3, 16)):
        model = _vae(submission, x_dim, z_dim, hidden)
        x = (torch.rand(5, x_dim) < 0.4).float()
        mu, logvar = _encode(model, x)
        assert mu.shape == (5, z_dim), "encode(x) must return mu and logvar of shape (B, z_dim)"
        z = 2.0 * torch.randn(40, z_dim)
        logits = _t(model.decode(z))
        assert logits.shape == (40, x_dim), "decode(z) must return logits of shape (B, x_dim)"
        assert torch.any(logits < 0.0) and torch.any(logits > 1.0), (
            "decode must return LOGITS (any real number, before the sigmoid), not "
            "probabilities: bernoulli_log_likelihood takes logits"
        )
        out = model(x)
        assert isinstance(out, (tuple, list)) and len(out) == 3, (
            "VAE.forward(x) must return a tuple (logits, mu, logvar)"
        )
        f_logits, f_mu, f_logvar = (_t(v) for v in out)
        assert f_logits.shape == (5, x_dim), "forward's logits must have shape (B, x_dim)"
        assert torch.allclose(f_mu, mu, atol=1e-5) and torch.allclose(f_logvar, logvar, atol=1e-5), (
            "forward(x) must return the mu and logvar of encode(x)"
        )
        again = _t(model(x)[0])
        assert not torch.allclose(again, f_logits, atol=1e-5), (
            "forward must decode a SAMPLE z = reparameterize(mu, logvar), a new one on every "
            "call, not the mean mu"
        )
    stacked = _t(model.decode(torch.randn(4, 5, 3)))
    assert stacked.shape == (4, 5, 20), (
        "decode must accept any leading batch shape, e.g. (k, B, z_dim) -> (k, B, x_dim)"
    )


# ---------------------------------------------------------------- ELBO


@pytest.mark.points(6)
@pytest.mark.time_limit(60)
def test_elbo_matches_monte_carlo(submission):
    torch.manual_seed(7)
    x = _digits()[:12]
    model = _vae(submission, 64, 8, 32)
    assert _t(submission.elbo(model, x[:3])).shape == (3,), (
        "elbo(model, x) must return shape (B,): one ELBO per example"
    )
    repeats = 400
    student = _repeated(lambda xs: submission.elbo(model, xs), x, repeats)  # (R, B)
    assert torch.all(torch.isfinite(student)), "elbo returned inf or nan"
    mu, logvar = _encode(model, x)
    z = D.Normal(mu, torch.exp(0.5 * logvar)).sample((repeats,))  # (R, B, z_dim)
    trusted = (_log_px_z(_decode(model, z), x) - _kl(mu, logvar)).double()  # (R, B)
    per_example, overall = _close_in_expectation(student, trusted)
    assert overall and per_example, (
        "on average over many calls, elbo(model, x) must equal E_q[log p(x|z)] - KL(q(z|x) "
        "|| p(z)) for each example, computed from model.encode / model.decode: one sample "
        "z = reparameterize(mu, logvar) per example, the log-likelihood summed over pixels, "
        "MINUS the closed-form KL summed over latent dimensions. (This is the bound itself, "
        "to be maximised, not the loss -ELBO.)"
    )


# ---------------------------------------------------------------- IWAE


@pytest.mark.points(6)
@pytest.mark.time_limit(60)
def test_iwae_matches_monte_carlo(submission):
    torch.manual_seed(8)
    x = _digits()[20:28]
    model = _vae(submission, 64, 8, 32)
    for k, repeats in ((1, 400), (5, 300), (50, 150)):
        student = _repeated(lambda xs: submission.iwae_bound(model, xs, k), x, repeats)
        assert torch.all(torch.isfinite(student)), f"iwae_bound returned inf or nan for k = {k}"
        trusted = _trusted_iwae(model, x, k, 2 * repeats)
        per_example, overall = _close_in_expectation(student, trusted)
        assert overall and per_example, (
            f"for k = {k}, the average of iwae_bound(model, x, k) over many calls must equal "
            "E[logsumexp_i(log w_i) - log k] with log w_i = log p(x|z_i) + log p(z_i) - "
            "log q(z_i|x) for k samples z_i ~ q(z|x): log N(z; mu, sigma^2) includes "
            "-log sigma = -0.5 * logvar per dimension, the prior is N(0, I), both summed over "
            "the latent dimensions; combine the k samples with torch.logsumexp (not a mean of "
            "log w) and subtract log k"
        )


@pytest.mark.points(4)
@pytest.mark.visibility("hidden")
@pytest.mark.time_limit(60)
def test_iwae_bound_ordering(submission):
    torch.manual_seed(9)
    x = _digits()[100:116]
    model = _vae(submission, 64, 8, 32)
    out = _t(submission.iwae_bound(model, x, 3))
    assert out.shape == (16,), "iwae_bound(model, x, k) must return shape (B,)"
    repeats = 200

    def mean_and_se(call):
        s = _repeated(call, x, repeats).mean(1)  # (R,): batch means, independent repeats
        return s.mean().item(), s.std().item() / math.sqrt(repeats)

    elbo, se_e = mean_and_se(lambda xs: submission.elbo(model, xs))
    bounds = {k: mean_and_se(lambda xs, k=k: submission.iwae_bound(model, xs, k)) for k in (1, 5, 50)}
    l1, se_1 = bounds[1]
    assert abs(l1 - elbo) <= 6 * math.hypot(se_1, se_e) + 0.01, (
        "with k = 1 the IWAE bound is the ELBO (with a Monte-Carlo KL): their averages over "
        "many calls must agree; check log q(z|x) and log p(z) (full Gaussian log-densities "
        "summed over latent dimensions) and that elbo subtracts the KL"
    )
    for small, large in ((1, 5), (5, 50)):
        (lo, se_lo), (hi, se_hi) = bounds[small], bounds[large]
        assert hi - lo > 5 * math.hypot(se_lo, se_hi), (
            f"the bound must tighten with k: on average L_{large} must be clearly above "
            f"L_{small} (Burda et al.: L_1 <= L_5 <= L_50 <= log p(x)). Averaging the log "
            "weights gives the ELBO again for every k: combine them with "
            "logsumexp(log w) - log k"
        )


# ---------------------------------------------------------------- training


@pytest.mark.points(6)
@pytest.mark.time_limit(60)
def test_train_vae_contract(submission):
    torch.manual_seed(10)
    data = _digits()
    train, held_out = data[:N_TRAIN], data[N_TRAIN:]
    model = submission.VAE(64, 8, 128)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    epochs = 8
    losses = submission.train_vae(model, train, epochs, 64, 3e-3, 0)
    assert isinstance(losses, list) and len(losses) == epochs, (
        "train_vae must return a list with one loss per epoch"
    )
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses), (
        "train_vae must return finite Python floats (loss.item())"
    )
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), (
        "train_vae must train the given model in place (optimizer.step() on its parameters)"
    )
    assert losses[-1] < losses[0] - 3.0, (
        "the reported negative ELBO must fall during training: minimise -elbo(model, x).mean() "
        "(gradient DEScent on the loss: do not maximise it)"
    )
    model.eval()
    train_nelbo = _neg_elbo(model, train)
    assert 0.8 * train_nelbo < losses[-1] < 1.25 * train_nelbo + 1.0, (
        "the reported losses must be the mean negative ELBO PER EXAMPLE in nats (the same "
        "scale as -elbo(model, x).mean()): average over the examples of the epoch, do not "
        "sum over a batch, and do not average over pixels"
    )
    heldout_nelbo = _neg_elbo(model, held_out)
    assert heldout_nelbo < 23.5, (
        "after 8 epochs (batch 64, lr 3e-3) the held-out negative ELBO measured by the "
        "grader is still above 23.5 nats (the reference gets about 21): check that every "
        "step calls optimizer.zero_grad() before loss.backward() (gradients accumulate "
        "otherwise), that decode returns logits, and that the loss is -elbo(...).mean()"
    )


@pytest.mark.points(7)
@pytest.mark.slow
@pytest.mark.time_limit(120)
@pytest.mark.visibility("after_due_date")
def test_train_on_digits(submission):
    torch.manual_seed(11)
    data = _digits()
    train, held_out = data[:N_TRAIN], data[N_TRAIN:]
    model = submission.VAE(64, 8, 128)
    submission.train_vae(model, train, 40, 64, 3e-3, 0)
    model.eval()
    nelbo = _neg_elbo(model, held_out, samples=50)
    assert math.isfinite(nelbo) and nelbo < THRESHOLD_NATS, (
        f"after train_vae(VAE(64, 8, 128), first {N_TRAIN} digits, epochs=40, batch_size=64, "
        f"lr=3e-3, seed=0), the negative ELBO on the held-out digits (measured by the grader "
        f"from your encode/decode) must be below {THRESHOLD_NATS:g} nats; a model that ignores "
        "z gets about 24.6. Check the architecture (hidden ReLU layer on both sides), that "
        "gradients flow through reparameterize, and that the loss is -elbo(...).mean()"
    )
