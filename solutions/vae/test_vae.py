"""Hidden suite of the `vae` module (Kingma & Welling 2014; IWAE: Burda et al. 2016).

Fixtures (engine plugin): `submission` (the student's definitions), `reference`
(unused: every expected value comes from `torch.distributions`, from formulas computed
in this file, or from the student's own sub-functions), `recipe` (the arguments probe),
`threshold` (the learning test's judgement), `device` (unused: tensors are moved where
the student's code runs).

One bug, one test: every composite function is checked against a value built from the
student's OWN sub-functions on the same inputs (`elbo` from the student's `encode`,
`decode`, `reparameterize`, `gaussian_kl`, `bernoulli_log_likelihood`; `iwae_bound`
likewise; `vae_step` from finite differences of the student's `elbo`), accepting the
correct formula as well, so a mistake in a sub-function costs points only in the
sub-function's tests. Random functions take their noise as an argument (`eps`) and are
compared exactly with it; without it they are judged by statistics.

Bugs this suite catches (one line each, then the tests that catch it):
- KL with the wrong sign                                 -> test_gaussian_kl_matches_torch_distributions, test_gaussian_kl_sums_over_latent_dims
- KL without the factor 1/2                              -> test_gaussian_kl_matches_torch_distributions
- KL averaged over the latent dimensions (not summed)    -> test_gaussian_kl_matches_torch_distributions, test_gaussian_kl_sums_over_latent_dims
- KL treating logvar as log sigma (exp(2 logvar))        -> test_gaussian_kl_matches_torch_distributions
- KL accumulated in a float32 buffer (float64 lost)      -> test_float64_inputs_keep_float64
- reparameterize with std = exp(logvar) (no 1/2)         -> test_reparameterize_with_given_eps, test_reparameterize_statistics, test_reparameterize_gradient
- reparameterize returning mu (no noise)                 -> test_reparameterize_with_given_eps, test_reparameterize_statistics, test_reparameterize_gradient
- reparameterize with one noise vector for the batch     -> test_reparameterize_statistics
- reparameterize cutting the gradient (torch.normal)     -> test_reparameterize_gradient
- reparameterize ignoring a given eps                    -> test_reparameterize_with_given_eps, test_reparameterize_gradient
- log-likelihood via log(sigmoid(.)) (inf / nan)         -> test_bernoulli_log_likelihood_extreme_logits
- log-likelihood via F.binary_cross_entropy(sigmoid(.))  -> test_bernoulli_log_likelihood_extreme_logits
- log-likelihood averaged over pixels (not summed)       -> test_bernoulli_log_likelihood_matches_torch, test_bernoulli_log_likelihood_extreme_logits, test_bernoulli_log_likelihood_sums_over_pixels
- decode returning probabilities (a sigmoid) not logits  -> test_vae_encode_decode_forward
- forward decoding the mean mu instead of a sample       -> test_vae_encode_decode_forward
- elbo adding the KL term instead of subtracting it      -> test_elbo_with_given_eps
- elbo drawing uniform noise (torch.rand_like)           -> test_elbo_without_eps_matches_its_expectation
- IWAE averaging log w (mean, not logsumexp)             -> test_iwae_with_given_eps
- IWAE missing the - log k                               -> test_iwae_with_given_eps
- IWAE log q(z|x) without the log sigma term             -> test_iwae_with_given_eps
- IWAE with one sample repeated k times                  -> test_iwae_without_eps_matches_its_expectation
- vae_step maximising the loss (ascending -ELBO)         -> test_vae_step_matches_finite_differences
- vae_step never calling zero_grad                       -> test_vae_step_matches_finite_differences
- vae_step summing the loss over the batch               -> test_vae_step_matches_finite_differences
- vae_step drawing its own noise instead of eps          -> test_vae_step_matches_finite_differences
- train_vae reporting the loss summed over the batch     -> test_train_vae_contract
- train_vae ignoring its seed (global RNG, unseeded)     -> test_train_vae_seed
- train_vae shuffling the caller's data in place         -> test_arguments_not_modified
- (anything that stops real learning)                    -> test_train_on_digits

Rules kept here so the suite also runs through the engine's RPC proxy: student objects
are only called, constructed, read, and set through `state_dict` / `load_state_dict`;
every tensor handed to student code is a fresh copy (trusted mode shares memory), no
callable of this file is passed to student code. Gradients of student code are seen
through the student's own optimiser step (`vae_step` with `torch.optim.SGD`) and through
`torch.func.vjp`, both taken from the worker's `torch` (the notebook's locked imports).
Before a composite's call and the matching sub-function calls, the worker's global RNG is
seeded alike, so noise a buggy sub-function draws on its own is the same in both.
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
    """A returned tensor as plain data (detached, on the CPU)."""
    assert isinstance(x, torch.Tensor), "expected a torch.Tensor to be returned"
    return x.detach().cpu()


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
    result = model.encode(x.clone())
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
    flat = z.reshape(-1, z.shape[-1]).clone()
    logits = _t(model.decode(flat))
    assert logits.shape[0] == flat.shape[0], "decode must map (B, z_dim) to (B, x_dim) logits"
    return logits.reshape(*z.shape[:-1], logits.shape[-1])


def _param_names(model):
    return [name for name, _ in model.named_parameters()]


def _vae(submission, x_dim, z_dim, hidden_dim, gain=1.0, seed=0):
    """A student VAE with random weights of a known scale (any architecture: only the
    parameter shapes are used): matrices N(0, gain^2 / fan_in), vectors (biases) around
    -0.5. The KL terms, IWAE gaps and log sigma terms are then clearly non-zero."""
    model = submission.VAE(x_dim, z_dim, hidden_dim)
    gen = torch.Generator().manual_seed(seed)
    state = dict(model.state_dict())
    for name in _param_names(model):
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


def _reraise_unless_raised_by_student_code(exc):
    """A time limit, a crashed worker or a grader failure is never swallowed."""
    if type(exc).__name__ in ("CallTimeout", "WorkerCrashed", "ReplyRejected", "GraderError",
                              "NotData", "MissingDefinition"):
        raise exc


def _student_or_none(call, shape):
    """A student sub-function's result when it has the expected shape and is finite,
    else None (a broken sub-function is graded in its own test, not here)."""
    try:
        out = _t(call())
    except Exception as exc:  # noqa: BLE001 - any failure of the sub-function: not a candidate
        _reraise_unless_raised_by_student_code(exc)
        return None
    if tuple(out.shape) != tuple(shape) or not torch.all(torch.isfinite(out)):
        return None
    return out.double()


def _matches_any(value, candidates, rtol=1e-4, atol=1e-3):
    value = value.double()
    return any(c is not None and torch.allclose(value, c, rtol=rtol, atol=atol)
               for c in candidates)


def _seed_worker(submission, seed):
    """The global RNG where the student's code runs, in a known state: a reparameterize
    that ignores a given eps (its own bug, graded in its own tests) then draws the same
    noise inside elbo, iwae_bound or vae_step as in the candidates built here."""
    submission.torch.manual_seed(seed)


def _z_candidates(submission, mu, logvar, eps, seed):
    """z = mu + exp(logvar / 2) * eps by the formula, and by the student's reparameterize
    (broadcast to eps's shape, the worker's RNG seeded with `seed` as for the composite's
    call): an elbo or iwae_bound built on the student's own reparameterize is right for
    that reparameterize."""
    zs = [mu + torch.exp(0.5 * logvar) * eps]
    try:
        _seed_worker(submission, seed)
        own = _t(submission.reparameterize(mu.clone(), logvar.clone(), eps.clone()))
        own = own.expand(eps.shape).clone()
        if torch.all(torch.isfinite(own)):
            zs.append(own)
    except Exception as exc:  # noqa: BLE001 - reparameterize is graded by its own tests
        _reraise_unless_raised_by_student_code(exc)
    return zs


def _ll_candidates(submission, logits, x):
    """log p(x | z) by torch.distributions, and by the student's bernoulli_log_likelihood."""
    xs = x.expand_as(logits)
    own = _student_or_none(
        lambda: submission.bernoulli_log_likelihood(logits.clone(), xs.clone()), logits.shape[:-1])
    return [_log_px_z(logits, x).double(), own]


# ---------------------------------------------------------------- reparameterize


@pytest.mark.points(2)
def test_reparameterize_with_given_eps(submission):
    gen = torch.Generator().manual_seed(20)
    mu = 2.0 * torch.randn(6, 4, generator=gen)
    logvar = torch.empty(6, 4).uniform_(-4.0, 2.0, generator=gen)
    eps = torch.randn(6, 4, generator=gen)
    z = _t(submission.reparameterize(mu.clone(), logvar.clone(), eps.clone()))
    assert z.shape == mu.shape, "reparameterize(mu, logvar, eps) must return the shape of mu"
    expected = mu + torch.exp(0.5 * logvar) * eps
    assert torch.allclose(z, expected, rtol=1e-5, atol=1e-5), (
        "with eps given, reparameterize(mu, logvar, eps) must return exactly "
        "mu + exp(0.5 * logvar) * eps: logvar is the log of the VARIANCE, so the standard "
        "deviation is exp(logvar / 2); use the given eps, draw nothing"
    )
    again = _t(submission.reparameterize(mu.clone(), logvar.clone(), eps.clone()))
    assert torch.equal(again, z), "with eps given the result must not be random"
    eps_k = torch.randn(3, 6, 4, generator=gen)
    z_k = _t(submission.reparameterize(mu.clone(), logvar.clone(), eps_k.clone()))
    assert z_k.shape == (3, 6, 4) and torch.allclose(
        z_k, mu + torch.exp(0.5 * logvar) * eps_k, rtol=1e-5, atol=1e-5), (
        "eps of shape (k, *mu.shape) gives k samples per entry, shape (k, B, z_dim): "
        "mu + exp(0.5 * logvar) * eps broadcasts"
    )


@pytest.mark.points(2)
def test_reparameterize_statistics(submission):
    n = 20000
    mu_row = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    logvar_row = torch.tensor([0.0, -2.0, 1.5, -6.0])  # std 1, 0.37, 2.12, 0.05
    mu, logvar = mu_row.expand(n, 4).clone(), logvar_row.expand(n, 4).clone()
    z = _t(submission.reparameterize(mu.clone(), logvar.clone()))
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
    across = torch.corrcoef(eps[:, 0].reshape(-1, 2).T)[0, 1]  # neighbouring rows
    assert abs(across.item()) < 0.05, (
        "the noise of different examples (rows) must be independent: draw eps of the "
        "shape of mu (torch.randn_like(mu)), not one vector of shape (z_dim,) for the batch"
    )
    z2 = _t(submission.reparameterize(mu.clone(), logvar.clone()))
    assert not torch.allclose(z, z2), "every call must draw fresh noise"
    mu3, logvar3 = torch.randn(5, 3, 2), torch.randn(5, 3, 2)
    assert _t(submission.reparameterize(mu3, logvar3)).shape == (5, 3, 2), (
        "reparameterize must work for any shape, e.g. (k, B, z_dim)"
    )


@pytest.mark.points(2)
def test_reparameterize_gradient(submission):
    """The vector-Jacobian product of the student's function, taken where it runs."""
    gen = torch.Generator().manual_seed(21)
    mu = torch.randn(5, 3, generator=gen)
    logvar = torch.empty(5, 3).uniform_(-2.0, 1.0, generator=gen)
    eps = torch.randn(5, 3, generator=gen)
    v = torch.randn(5, 3, generator=gen)
    vjp = submission.torch.func.vjp
    teach = (
        "z must stay differentiable with respect to mu and logvar: dz/dmu = 1 and "
        "dz/dlogvar = 0.5 * eps * exp(0.5 * logvar). Build z = mu + exp(0.5 * logvar) * eps "
        "from the tensors themselves: no .detach(), no torch.no_grad(), and not "
        "torch.normal(mu, std), which has no gradient with respect to its arguments"
    )
    z, pullback = vjp(submission.reparameterize, mu.clone(), logvar.clone(), eps.clone())
    g_mu, g_logvar = (_t(g) for g in pullback(v.clone())[:2])
    std = torch.exp(0.5 * logvar)
    assert torch.allclose(g_mu, v, rtol=1e-5, atol=1e-5) and torch.allclose(
        g_logvar, 0.5 * v * std * eps, rtol=1e-4, atol=1e-5), f"with eps given: {teach}"
    z, pullback = vjp(submission.reparameterize, mu.clone(), logvar.clone())
    z = _t(z)
    g_mu, g_logvar = (_t(g) for g in pullback(v.clone())[:2])
    assert torch.allclose(g_mu, v, rtol=1e-5, atol=1e-5) and torch.allclose(
        g_logvar, 0.5 * v * (z - mu), rtol=1e-4, atol=1e-4), (
        f"without eps (fresh noise): {teach}")


# ---------------------------------------------------------------- KL


@pytest.mark.points(3)
def test_gaussian_kl_matches_torch_distributions(submission):
    torch.manual_seed(2)
    cases = [
        (2.0 * torch.randn(7, 5), 1.5 * torch.randn(7, 5)),
        (torch.randn(1, 1), torch.randn(1, 1)),
        (torch.randn(3, 20), torch.empty(3, 20).uniform_(-8.0, 5.0)),  # extreme variances
        (torch.zeros(2, 4), torch.full((2, 4), -3.0)),  # only the variance term
    ]
    for mu, logvar in cases:
        kl = _t(submission.gaussian_kl(mu.clone(), logvar.clone()))
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


@pytest.mark.points(1)
def test_gaussian_kl_sums_over_latent_dims(submission):
    torch.manual_seed(3)
    zero = _t(submission.gaussian_kl(torch.zeros(3, 6), torch.zeros(3, 6)))
    assert zero.shape == (3,) and torch.allclose(zero, torch.zeros(3), atol=1e-6), (
        "KL(N(0, I) || N(0, I)) must be 0 for every example: gaussian_kl(0, 0) = zeros(B)"
    )
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    kl = _t(submission.gaussian_kl(mu.clone(), logvar.clone()))
    assert torch.all(kl >= 0), "a KL divergence is never negative"
    doubled = _t(submission.gaussian_kl(torch.cat([mu, mu], 1), torch.cat([logvar, logvar], 1)))
    assert torch.allclose(doubled, 2.0 * kl, rtol=1e-4, atol=ATOL), (
        "repeating every latent dimension twice must double the KL: the KL of a diagonal "
        "Gaussian is a SUM over the latent dimensions (not a mean)"
    )
    for i in range(4):
        alone = _t(submission.gaussian_kl(mu[i:i + 1].clone(), logvar[i:i + 1].clone()))
        assert torch.allclose(alone, kl[i:i + 1], rtol=1e-4, atol=ATOL), (
            "gaussian_kl must treat every example (row) separately: reduce over the last "
            "axis only, never over the batch"
        )


# ---------------------------------------------------------------- Bernoulli likelihood


@pytest.mark.points(2)
def test_bernoulli_log_likelihood_matches_torch(submission):
    torch.manual_seed(4)
    for shape in ((6, 64), (1, 5), (3, 4, 10)):
        logits = 3.0 * torch.randn(shape)
        x = (torch.rand(shape) < 0.4).float()
        out = _t(submission.bernoulli_log_likelihood(logits.clone(), x.clone()))
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


@pytest.mark.points(2)
def test_bernoulli_log_likelihood_extreme_logits(submission):
    logits = torch.tensor([[50.0, -50.0, 50.0, -50.0, 100.0, -100.0, 20.0, -20.0, 0.0],
                           [90.0, -90.0, 30.0, -30.0, 17.0, -17.0, 60.0, -60.0, 5.0]])
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
                      [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    out = _t(submission.bernoulli_log_likelihood(logits.clone(), x.clone()))
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


@pytest.mark.points(1)
def test_bernoulli_log_likelihood_sums_over_pixels(submission):
    torch.manual_seed(5)
    zero = _t(submission.bernoulli_log_likelihood(torch.zeros(3, 64), torch.ones(3, 64)))
    assert torch.allclose(zero, torch.full((3,), -64 * math.log(2.0)), atol=1e-3), (
        "with all logits 0 every pixel has probability 1/2, so an image of 64 pixels has "
        "log-likelihood 64 * log(1/2): sum over the pixels, do not average"
    )
    logits, x = torch.randn(4, 10), (torch.rand(4, 10) < 0.5).float()
    single = _t(submission.bernoulli_log_likelihood(logits.clone(), x.clone()))
    doubled = _t(submission.bernoulli_log_likelihood(torch.cat([logits, logits], 1),
                                                     torch.cat([x, x], 1)))
    assert torch.allclose(doubled, 2.0 * single, rtol=1e-4, atol=ATOL), (
        "repeating every pixel twice must double the log-likelihood (independent pixels: "
        "a sum over the last axis)"
    )
    assert torch.all(single <= 0), "a log-probability of binary data is never positive"


@pytest.mark.points(1)
def test_float64_inputs_keep_float64(submission):
    """Tasks 1-3 state it: float64 in, float64 out (the values are graded in the
    functions' own tests)."""
    gen = torch.Generator().manual_seed(22)
    mu = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    eps = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    logits = 3.0 * torch.randn(4, 10, generator=gen, dtype=torch.float64)
    x = (torch.rand(4, 10, generator=gen) < 0.5).double()
    checks = [
        ("reparameterize(mu, logvar, eps)",
         lambda: submission.reparameterize(mu.clone(), logvar.clone(), eps.clone())),
        ("reparameterize(mu, logvar)", lambda: submission.reparameterize(mu.clone(), logvar.clone())),
        ("gaussian_kl(mu, logvar)", lambda: submission.gaussian_kl(mu.clone(), logvar.clone())),
        ("bernoulli_log_likelihood(logits, x)",
         lambda: submission.bernoulli_log_likelihood(logits.clone(), x.clone())),
    ]
    for name, call in checks:
        out = _t(call())
        assert out.dtype == torch.float64, (
            f"{name} with float64 inputs must return float64 (it returned {out.dtype}): "
            "do not create float32 tensors (torch.zeros(B) without dtype=, .float()) on the "
            "way; build on the inputs (torch.randn_like, torch.zeros_like, operations on them)"
        )


# ---------------------------------------------------------------- VAE


@pytest.mark.points(6)
def test_vae_encode_decode_forward(submission):
    torch.manual_seed(6)
    for x_dim, z_dim, hidden in ((64, 8, 32), (20, 3, 16)):
        model = _vae(submission, x_dim, z_dim, hidden)
        assert model.x_dim == x_dim and model.z_dim == z_dim, (
            "VAE(x_dim, z_dim, hidden_dim) must keep x_dim and z_dim as attributes "
            "(train_vae reads model.z_dim)"
        )
        x = (torch.rand(5, x_dim) < 0.4).float()
        mu, logvar = _encode(model, x)
        assert mu.shape == (5, z_dim), "encode(x) must return mu and logvar of shape (B, z_dim)"
        z = 2.0 * torch.randn(40, z_dim)
        logits = _t(model.decode(z.clone()))
        assert logits.shape == (40, x_dim), "decode(z) must return logits of shape (B, x_dim)"
        assert torch.any(logits < 0.0) and torch.any(logits > 1.0), (
            "decode must return LOGITS (any real number, before the sigmoid), not "
            "probabilities: bernoulli_log_likelihood takes logits"
        )
        out = model(x.clone())
        assert isinstance(out, (tuple, list)) and len(out) == 3, (
            "VAE.forward(x) must return a tuple (logits, mu, logvar)"
        )
        f_logits, f_mu, f_logvar = (_t(v) for v in out)
        assert f_logits.shape == (5, x_dim), "forward's logits must have shape (B, x_dim)"
        assert torch.allclose(f_mu, mu, atol=1e-5) and torch.allclose(f_logvar, logvar, atol=1e-5), (
            "forward(x) must return the mu and logvar of encode(x)"
        )
        again = _t(model(x.clone())[0])
        if torch.allclose(again, f_logits, atol=1e-5):
            # deterministic: only right if the student's own reparameterize is (a bug of
            # reparameterize is graded in its own tests)
            own = [_t(submission.reparameterize(mu.clone(), logvar.clone())) for _ in range(2)]
            assert torch.allclose(own[0], own[1], atol=1e-6), (
                "forward must decode a SAMPLE z = reparameterize(mu, logvar), a new one on "
                "every call, not the mean mu"
            )
    stacked = _t(model.decode(torch.randn(4, 5, 3)))
    assert stacked.shape == (4, 5, 20), (
        "decode must accept any leading batch shape, e.g. (k, B, z_dim) -> (k, B, x_dim)"
    )


# ---------------------------------------------------------------- ELBO


@pytest.mark.points(6)
def test_elbo_with_given_eps(submission):
    gen = torch.Generator().manual_seed(7)
    x = _digits()[:12]
    model = _vae(submission, 64, 8, 32)
    eps = torch.randn(12, 8, generator=gen)
    _seed_worker(submission, 70)
    out = _t(submission.elbo(model, x.clone(), eps.clone()))
    assert out.shape == (12,), "elbo(model, x, eps) must return shape (B,): one ELBO per example"
    assert torch.all(torch.isfinite(out)), "elbo returned inf or nan"
    _seed_worker(submission, 71)
    again = _t(submission.elbo(model, x.clone(), eps.clone()))
    own_random = [_student_or_none(lambda: submission.reparameterize(
        torch.zeros(2, 8), torch.zeros(2, 8), torch.ones(2, 8)), (2, 8)) for _ in range(2)]
    own_is_random = None not in own_random and not torch.equal(*own_random)
    assert own_is_random or torch.allclose(again, out, atol=1e-5), (
        "with eps given, elbo(model, x, eps) must not be random: z = mu + exp(0.5 * logvar) "
        "* eps with the given eps (pass it to reparameterize)"
    )
    mu, logvar = _encode(model, x)
    kls = [_kl(mu, logvar).double(),
           _student_or_none(lambda: submission.gaussian_kl(mu.clone(), logvar.clone()), (12,))]
    candidates, plus_kl = [], []
    for z in _z_candidates(submission, mu, logvar, eps, 70):
        for ll in _ll_candidates(submission, _decode(model, z), x):
            for kl in kls:
                if ll is not None and kl is not None:
                    candidates.append(ll - kl)
                    plus_kl.append(ll + kl)
    if _matches_any(out, candidates):
        return
    assert not _matches_any(out, plus_kl), (
        "elbo ADDS the KL term: the ELBO is log p(x | z) MINUS KL(q(z | x) || p(z))"
    )
    assert False, (
        "elbo(model, x, eps) must equal bernoulli_log_likelihood(decode(z), x) - "
        "gaussian_kl(mu, logvar) with (mu, logvar) = encode(x) and z = mu + exp(0.5 * "
        "logvar) * eps for the GIVEN eps (one sample per example), the log-likelihood "
        "summed over pixels, the closed-form KL summed over latent dimensions: the bound "
        "itself, to be maximised, not the loss -ELBO"
    )


@pytest.mark.points(2)
@pytest.mark.time_limit(60)
def test_elbo_without_eps_matches_its_expectation(submission):
    """Without eps, elbo must average like elbo with noise drawn by the grader (both the
    student's: only the sampling is judged)."""
    gen = torch.Generator().manual_seed(17)
    x = _digits()[30:42]
    model = _vae(submission, 64, 8, 32)
    repeats = 150
    free = []
    for _ in range(repeats):  # one call per repeat: a sample shared across a batch is
        out = _t(submission.elbo(model, x.clone()))  # reparameterize's bug, not elbo's
        assert out.shape == (x.shape[0],), "elbo(model, x) must return shape (B,)"
        assert torch.all(torch.isfinite(out)), "elbo(model, x) returned inf or nan"
        free.append(out)
    xs = x.repeat(repeats, 1)  # (R * B, 64)
    eps = torch.randn(xs.shape[0], 8, generator=gen)
    given = _t(submission.elbo(model, xs.clone(), eps))
    per_example, overall = _close_in_expectation(
        torch.stack(free).double(), given.reshape(repeats, -1).double())
    assert overall and per_example, (
        "without eps, elbo(model, x) must draw its own standard normal noise, one fresh "
        "sample per example (torch.randn_like(mu), or reparameterize(mu, logvar)): on average "
        "over many calls it must equal elbo(model, x, eps) averaged over eps ~ N(0, I)"
    )


# ---------------------------------------------------------------- IWAE


def _iwae_candidates(submission, model, x, eps, seed):
    """Every correct way to build L_k for this eps from the student's own encode, decode,
    reparameterize and bernoulli_log_likelihood (or the formulas): (k, B) -> (B,) each."""
    k = eps.shape[0]
    mu, logvar = _encode(model, x)
    mu, logvar = mu.double(), logvar.double()
    std = torch.exp(0.5 * logvar)
    log_norm = 0.5 * math.log(2 * math.pi)
    out = []
    for z in _z_candidates(submission, mu.float(), logvar.float(), eps, seed):
        log_pz = (-0.5 * z.double().pow(2) - log_norm).sum(-1)  # (k, B)
        log_qs = [(-0.5 * eps.double().pow(2) - 0.5 * logvar - log_norm).sum(-1),
                  D.Normal(mu, std).log_prob(z.double()).sum(-1)]
        for ll in _ll_candidates(submission, _decode(model, z), x):
            if ll is None:
                continue
            for log_q in log_qs:
                out.append(torch.logsumexp(ll + log_pz - log_q, dim=0) - math.log(k))
    return out


@pytest.mark.points(7)
@pytest.mark.time_limit(60)
def test_iwae_with_given_eps(submission):
    gen = torch.Generator().manual_seed(8)
    x = _digits()[20:28]
    model = _vae(submission, 64, 8, 32)
    for k in (1, 5, 50):
        eps = torch.randn(k, 8, 8, generator=gen)
        _seed_worker(submission, 80 + k)
        out = _t(submission.iwae_bound(model, x.clone(), k, eps.clone()))
        assert out.shape == (8,), "iwae_bound(model, x, k, eps) must return shape (B,)"
        assert torch.all(torch.isfinite(out)), f"iwae_bound returned inf or nan for k = {k}"
        assert _matches_any(out, _iwae_candidates(submission, model, x, eps, 80 + k)), (
            f"for k = {k} and the given eps (k, B, z_dim), iwae_bound must equal "
            "logsumexp_i(log w_i) - log k with z_i = mu + exp(0.5 * logvar) * eps[i] and "
            "log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x): log N(z; mu, sigma^2) "
            "includes -log sigma = -0.5 * logvar per dimension, the prior is N(0, I), both "
            "summed over the latent dimensions; combine the k samples with torch.logsumexp "
            "(not a mean of log w) and subtract log k"
        )


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_iwae_without_eps_matches_its_expectation(submission):
    """Without eps, iwae_bound must average like iwae_bound with the grader's noise (both
    the student's: only the sampling is judged; L_5 above L_1 needs independent samples)."""
    gen = torch.Generator().manual_seed(9)
    x = _digits()[100:110]
    model = _vae(submission, 64, 8, 32)
    repeats = 300
    xs = x.repeat(repeats, 1)
    for k in (5,):
        free = _t(submission.iwae_bound(model, xs.clone(), k))
        assert free.shape == (xs.shape[0],), "iwae_bound(model, x, k) must return shape (B,)"
        assert torch.all(torch.isfinite(free)), f"iwae_bound returned inf or nan for k = {k}"
        eps = torch.randn(k, xs.shape[0], 8, generator=gen)
        given = _t(submission.iwae_bound(model, xs.clone(), k, eps))
        per_example, overall = _close_in_expectation(
            free.reshape(repeats, -1).double(), given.reshape(repeats, -1).double())
        assert overall and per_example, (
            f"without eps, iwae_bound(model, x, {k}) must draw k INDEPENDENT standard normal "
            "samples per example (noise of shape (k, B, z_dim)): on average over many calls "
            "it must equal iwae_bound(model, x, k, eps) averaged over eps ~ N(0, I). One "
            "sample repeated k times gives the ELBO again, not the tighter L_k"
        )


# ---------------------------------------------------------------- vae_step


def _fd_slope(submission, model, x, eps, base, direction, h, seed):
    """d/dt of -elbo(model with params base + t * direction, x, eps).mean() at t = 0, by
    central differences through the student's own elbo (float64 accumulation)."""
    values = []
    for sign in (1.0, -1.0):
        model.load_state_dict({n: base[n] + sign * h * direction[n] for n in base})
        _seed_worker(submission, seed)
        values.append(-_t(submission.elbo(model, x.clone(), eps.clone())).double().mean().item())
    model.load_state_dict(base)
    return (values[0] - values[1]) / (2 * h)


def _flat(tensors, names):
    return torch.cat([tensors[n].reshape(-1).double() for n in names])


@pytest.mark.points(8)
@pytest.mark.time_limit(60)
def test_vae_step_matches_finite_differences(submission):
    """Two SGD steps (the student's vae_step, the worker's torch.optim.SGD); each change of
    the parameters is -lr times a gradient, which must match the slope of the student's
    own elbo (finite differences) along it and along a fixed random direction."""
    gen = torch.Generator().manual_seed(12)
    lr, h, batch = 0.01, 1e-2, 32
    x = _digits()[200:200 + batch]
    model = _vae(submission, 64, 8, 32, seed=12)
    names = _param_names(model)
    eps = [torch.randn(batch, 8, generator=gen) for _ in range(2)]
    states = [{n: v.clone() for n, v in model.state_dict().items()}]
    optimizer = submission.torch.optim.SGD(model.parameters(), lr=lr)
    returned = []
    for step, e in enumerate(eps):
        _seed_worker(submission, 90 + step)
        loss = submission.vae_step(model, optimizer, x.clone(), e.clone())
        assert isinstance(loss, float) and math.isfinite(loss), (
            "vae_step must return the loss as a finite Python float (loss.item())"
        )
        returned.append(loss)
        states.append({n: v.clone() for n, v in model.state_dict().items()})
    for step, e in enumerate(eps):
        before, after = states[step], states[step + 1]
        model.load_state_dict(before)
        _seed_worker(submission, 90 + step)
        value = -_t(submission.elbo(model, x.clone(), e.clone())).double().mean().item()
        assert abs(returned[step] - value) <= 1e-4 * abs(value) + 1e-4, (
            "vae_step must return -elbo(model, x, eps).mean() for the GIVEN eps, computed "
            "before the step: the mean over the batch (not the sum), the loss (not the ELBO), "
            "and no noise of its own"
            if abs(returned[step] + value) > 1e-3 * abs(value) else
            "vae_step must return the LOSS -elbo(model, x, eps).mean(), not the ELBO"
        )
        grad = {n: (before[n].double() - after[n].double()) / lr for n in names}
        norm = _flat(grad, names).norm().item()
        assert norm > 1e-3, (
            "vae_step did not change the parameters: compute the loss, loss.backward(), "
            "then optimizer.step()"
        )
        unit = {n: (grad[n] / norm).float() for n in names}
        slope = _fd_slope(submission, model, x, e, before, unit, h, 90 + step)
        where = "in the first step" if step == 0 else (
            "in the second step (the first was right): the gradients of the previous step "
            "are still there; call optimizer.zero_grad() before loss.backward() in every step")
        assert slope > 0, (
            f"{where}: the step goes UP the loss -elbo: minimise loss = -elbo(model, x, "
            "eps).mean() (do not maximise it, and do not take the ELBO as the loss)"
            if step == 0 else where
        )
        assert abs(slope - norm) <= 0.03 * norm + 0.02, (
            f"{where}: the parameters moved by lr * g, but g is not the gradient of the loss "
            "-elbo(model, x, eps).mean() of your own elbo (measured along g): it must be the "
            "gradient of the MEAN over the batch (not the sum), for the given eps"
            if step == 0 else where
        )
        direction = {n: torch.randn(before[n].shape, generator=gen) for n in names}
        length = _flat(direction, names).norm().item()
        direction = {n: v / length for n, v in direction.items()}
        slope = _fd_slope(submission, model, x, e, before, direction, h, 90 + step)
        projected = (_flat(grad, names) * _flat(direction, names)).sum().item()
        assert abs(slope - projected) <= 0.05 * abs(projected) + 0.01, (
            f"{where}: the parameter change is not -lr times the gradient of "
            "-elbo(model, x, eps).mean() for the given eps"
        )


# ---------------------------------------------------------------- training


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_train_vae_contract(submission):
    torch.manual_seed(10)
    data = _digits()[:640]
    model = submission.VAE(64, 8, 64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    epochs = 2  # a tiny learning rate: the model barely moves, so every epoch's mean
    losses = submission.train_vae(model, data.clone(), epochs, 64, 1e-5, 0)  # is comparable
    assert isinstance(losses, list) and len(losses) == epochs, (
        "train_vae must return a list with one loss per epoch"
    )
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses), (
        "train_vae must return finite Python floats (loss.item())"
    )
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), (
        "train_vae must train the given model in place (one vae_step per minibatch, with "
        "an optimizer over model.parameters())"
    )
    # the scale of the student's own per-example loss: what their vae_step returns on
    # all the data (SGD with lr 0 leaves the model as it is)
    eps = torch.randn(data.shape[0], 8, generator=torch.Generator().manual_seed(10))
    measured = submission.vae_step(model, submission.torch.optim.SGD(model.parameters(), lr=0.0),
                                   data.clone(), eps)
    assert isinstance(measured, float) and math.isfinite(measured)
    assert abs(losses[-1] - measured) <= 0.1 * abs(measured) + 1.0, (
        "the reported losses must be the mean negative ELBO PER EXAMPLE in nats (the values "
        "vae_step returns, weighted by the size of each minibatch), averaged over the "
        "examples of the epoch: not the sum over a batch, nor a mean of batch sums"
    )


@pytest.mark.points(2)
@pytest.mark.time_limit(60)
def test_train_vae_seed(submission):
    """Same seed, same run; another seed, another run (same initial weights each time,
    the worker's global RNG in another state for the two runs with the same seed)."""
    data = _digits()[:320]
    eps = torch.randn(64, 8, generator=torch.Generator().manual_seed(16))
    steps = []  # is the student's own vae_step deterministic for a given eps? (graded
    for global_seed in (100, 200):  # in vae_step's test: not train_vae's fault here)
        model = _vae(submission, 64, 8, 32, gain=0.5, seed=13)
        submission.torch.manual_seed(global_seed)
        submission.vae_step(model, submission.torch.optim.SGD(model.parameters(), lr=0.01),
                            data[:64].clone(), eps.clone())
        steps.append(_flat(model.state_dict(), _param_names(model)))
    step_is_deterministic = torch.allclose(steps[0], steps[1], rtol=1e-5, atol=1e-6)
    runs = []
    for seed, global_seed in ((0, 100), (0, 200), (1, 100)):
        model = _vae(submission, 64, 8, 32, gain=0.5, seed=13)
        submission.torch.manual_seed(global_seed)
        submission.train_vae(model, data.clone(), 1, 64, 3e-3, seed)
        runs.append(_flat(model.state_dict(), _param_names(model)))
    assert not step_is_deterministic or torch.allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6), (
        "two calls of train_vae with the same seed (same model weights, same data) must "
        "train the same way: take all randomness (the shuffling and every eps) from a "
        "torch.Generator seeded with `seed` (or seed torch.manual_seed(seed) first)"
    )
    assert not torch.allclose(runs[0], runs[2], rtol=1e-5, atol=1e-6), (
        "train_vae with seed 0 and with seed 1 trained exactly the same way: the seed "
        "must decide the shuffling and the noise"
    )


@pytest.mark.points(1)
@pytest.mark.worker_reported
@pytest.mark.time_limit(60)
def test_arguments_not_modified(submission, recipe):
    """What the arguments probe reports from where the student's code runs (copies cross
    the channel, so an in-place change is visible only there)."""
    probe = recipe("arguments_probe")
    gen = torch.Generator().manual_seed(14)
    data = _digits()[:192]
    mu, logvar = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    eps = torch.randn(6, 8, generator=gen)
    model = submission.VAE(64, 8, 32)
    calls = [  # (name, function, arguments, argument paths it may change)
        ("train_vae(model, data, ...)", submission.train_vae, (model, data, 1, 64, 1e-3, 0),
         ("args[0].",)),  # the model's parameters: trained in place
        ("elbo(model, x, eps)", submission.elbo, (model, data[:6], eps), ()),
        ("iwae_bound(model, x, k, eps)", submission.iwae_bound,
         (model, data[:6], 2, torch.randn(2, 6, 8, generator=gen)), ()),
        ("reparameterize(mu, logvar, eps)", submission.reparameterize, (mu, logvar, eps), ()),
        ("gaussian_kl(mu, logvar)", submission.gaussian_kl, (mu, logvar), ()),
        ("bernoulli_log_likelihood(logits, x)", submission.bernoulli_log_likelihood,
         (3.0 * torch.randn(6, 64, generator=gen), data[:6]), ()),
    ]
    for name, fn, args, allowed in calls:
        args = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)
        try:
            reported = probe.changed(fn, *args)
        except Exception as exc:  # noqa: BLE001 - a function that fails is graded in its own tests
            _reraise_unless_raised_by_student_code(exc)
            continue
        changed = [p for p in reported if not any(p.startswith(prefix) for prefix in allowed)]
        assert not changed, (
            f"{name} changed its arguments in place ({', '.join(changed)}): the caller's "
            "tensors must stay as they were (shuffle an index, torch.randperm, not the data; "
            "no in-place operations such as x[:] = ..., .copy_(), .add_() on arguments)"
        )


@pytest.mark.points(6)
@pytest.mark.slow
@pytest.mark.time_limit(120)
@pytest.mark.visibility("after_due_date")
def test_train_on_digits(submission, threshold):
    torch.manual_seed(11)
    data = _digits()
    train, held_out = data[:N_TRAIN], data[N_TRAIN:]
    model = submission.VAE(64, 8, 128)
    submission.train_vae(model, train.clone(), 40, 64, 3e-3, 0)
    model.eval()
    nelbo = _neg_elbo(model, held_out, samples=50)
    threshold.at_most(
        "held-out negative ELBO (nats)", nelbo if math.isfinite(nelbo) else math.inf,
        THRESHOLD_NATS,
        f"after train_vae(VAE(64, 8, 128), first {N_TRAIN} digits, epochs=40, batch_size=64, "
        f"lr=3e-3, seed=0), the negative ELBO on the held-out digits (measured by the grader "
        f"from your encode/decode) must be below {THRESHOLD_NATS:g} nats; a model that ignores "
        "z gets about 24.6. Check the architecture (hidden ReLU layer on both sides), that "
        "every minibatch takes one vae_step with Adam, and that the data is shuffled"
    )


# ---------------------------------------------------------------- GPU (no points)


@pytest.mark.gpu
@pytest.mark.points(0)
@pytest.mark.time_limit(120)
def test_cuda_tensors(submission):
    """CUDA in, CUDA code path: a VAE moved to the GPU gives the values it gives on the CPU
    (eps and the data on the GPU too), and trains there. Sandboxed on a GPU the worker
    moves the test's tensors to its device itself (then both runs are on the GPU)."""
    cuda = torch.device("cuda")
    gen = torch.Generator().manual_seed(15)
    x = _digits()[:16]
    eps = torch.randn(16, 8, generator=gen)
    eps_k = torch.randn(3, 16, 8, generator=gen)
    model = _vae(submission, 64, 8, 32, seed=15)
    cpu_elbo = _t(submission.elbo(model, x.clone(), eps.clone()))
    cpu_iwae = _t(submission.iwae_bound(model, x.clone(), 3, eps_k.clone()))
    model.to("cuda")
    gpu_elbo = _t(submission.elbo(model, x.to(cuda), eps.to(cuda)))
    gpu_iwae = _t(submission.iwae_bound(model, x.to(cuda), 3, eps_k.to(cuda)))
    assert torch.allclose(gpu_elbo, cpu_elbo, rtol=1e-4, atol=1e-3), "elbo differs on the GPU"
    assert torch.allclose(gpu_iwae, cpu_iwae, rtol=1e-4, atol=1e-3), "iwae_bound differs on the GPU"
    free = _t(submission.iwae_bound(model, x.to(cuda), 3))
    assert free.shape == (16,) and torch.all(torch.isfinite(free)), (
        "iwae_bound without eps must draw its noise on the data's device (dtype=, device=)"
    )
    z = _t(submission.reparameterize(eps.to(cuda), eps.to(cuda)))
    assert z.shape == (16, 8), "reparameterize must work on CUDA tensors"
    losses = submission.train_vae(model, _digits()[:256].to(cuda), 2, 64, 3e-3, 0)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses), (
        "train_vae must run on a model and data on the GPU (the generator and eps on the "
        "data's device)"
    )
