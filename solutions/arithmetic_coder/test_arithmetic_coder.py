"""Hidden suite of the `arithmetic_coder` module (entropy coding).

Fixtures (engine plugin): `submission` (the student's definitions); `reference` (the
master's solution, trusted side) only makes the blobs the rejection tests damage (bytes
cross, never its code); `threshold` judges the slow test. Every other expected value comes
from this file's own implementations of the empirical entropy and of the specified
adaptive model, from exact integer counts, from zlib, bz2 and lzma themselves, or from the
student's own classes driven from here (compress and decompress, see below).

One bug, one test: compress and decompress are judged against the stream the student's
own ArithmeticEncoder and AdaptiveModel make when driven as specified; compare_with_archivers
against the student's own empirical_entropy and compress; the rejection tests on blobs the
reference made; the whole-message round trips only when every part passes its own test.

Bugs this suite catches (one line each, then the test that catches it; proved by the
mutant named in brackets, in mutants/):
- no underflow (E3) rule in encoder and decoder [no_underflow_handling]
      -> test_coder_underflow_round_trip, test_coder_low_precision
- pending bits output equal to the next bit, not its opposite [pending_bits_same_value]
      -> the three coder tests
- finish() without the last pending bit: too few bits [finish_too_few_bits]
      -> the three coder tests
- decoder target divided by high - low, not high - low + 1 [target_width_off_by_one]
      -> test_coder_low_precision (at precision 32 it errs about once in 2**15 symbols)
- halving with c // 2, so counts reach 0 [halving_floor]
      -> test_adaptive_model_counts_and_halving, test_adaptive_model_find
- halving one update too early (total + 1 >= max_total) [halving_too_early]
      -> test_adaptive_model_counts_and_halving, test_adaptive_model_find
- interval low includes the symbol's own count [interval_includes_symbol]
      -> test_adaptive_model_counts_and_halving, test_adaptive_model_find
- find() off by one at the interval boundaries [find_boundary_off_by_one]
      -> test_adaptive_model_find
- model updated before the byte is coded, in compress only [update_before_encode]
      -> test_compress_codes_with_own_model_and_coder
- order outside [0, 255] not refused [compress_order_unchecked]
      -> test_compress_codes_with_own_model_and_coder
- decoder context shifted by one byte [decoder_context_shifted]
      -> test_decompress_decodes_own_stream
- order-k context ignored in compress and decompress [context_ignored]
      -> test_compress_codes_with_own_model_and_coder, test_decompress_decodes_own_stream
- CRC-32 never compared (a corrupted body decodes to garbage) [no_crc_check]
      -> test_decompress_rejects_corrupted
- magic bytes never compared [no_magic_check]
      -> test_decompress_rejects_corrupted
- header unpacked without a length check: struct.error, not ValueError [no_length_check]
      -> test_decompress_rejects_truncated
- no bound on the bits the decoder reads: a corrupted length field decodes for ever
  [decompress_unbounded] -> test_decompress_bounds_its_reading
- the header's length trusted for an allocation up front [decompress_trusts_length]
      -> test_decompress_bounds_its_reading
- entropy in nats (natural log) [entropy_natural_log]
      -> test_empirical_entropy_order0, test_empirical_entropy_conditional
- order-k entropy as the joint entropy of (k+1)-grams [entropy_joint_not_conditional]
      -> test_empirical_entropy_conditional
- context counts N(c) over every window, also the last one [entropy_context_counts_all_windows]
      -> test_empirical_entropy_order0, test_empirical_entropy_conditional
- zlib at its default level 6, not 9 [archivers_zlib_default_level]
      -> test_compare_with_archivers
- bytes per byte (a ratio) instead of bits per byte [archivers_bytes_not_bits]
      -> test_compare_with_archivers
- (anything that shows only on long or random messages: a coder that loses information
  or wastes bits there, slow code) -> test_whole_messages_round_trip_near_ideal_length

Rules kept here so the suite also runs through the engine's RPC proxy: only bytes, ints,
floats and tuples cross into and out of student code; student objects (encoders,
decoders, models) are only constructed and called, never read or modified; a student's
coder stream only has to round-trip with the student's own decoder, so tests never decode
it themselves. Sandboxed, every call costs about 0.2 ms, so the tests that drive the encoder
and decoder symbol by symbol stay at a few thousand symbols; compress/decompress run whole
messages (up to 10^5 bytes) in one call each. Nothing is random at grading time:
Hypothesis is derandomized, and only draws the examples (student code runs outside it,
see `_random_messages`). Time limits are about 10x what a naive O(256)-per-symbol
solution needs (tests/modules/arithmetic_coder_alternative.py).
"""
import bisect
import bz2
import itertools
import lzma
import math
import random
import struct
import tempfile
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

_HEADER = struct.Struct(">4sQBI")  # the notebook's locked HEADER: magic, length, order, CRC-32
SLACK = 8  # bytes a correct compress() may differ from the ideal code length (header and termination variants)


# ---------------------------------------------------------------- helpers


def _corpus() -> bytes:
    from pydoc_data.topics import topics
    return "\n\n".join(topics[name] for name in sorted(topics)).encode("utf-8")


def _entropy(data: bytes, order: int) -> float:
    """H_k via H = (1/n) [sum_c N(c) log2 N(c) - sum_{c,a} N(c,a) log2 N(c,a)]."""
    n = len(data) - order
    if n <= 0:
        return 0.0
    joint, context = Counter(), Counter()
    for i in range(order, len(data)):
        joint[data[i - order:i + 1]] += 1
        context[data[i - order:i]] += 1
    return (sum(c * math.log2(c) for c in context.values())
            - sum(c * math.log2(c) for c in joint.values())) / n


def _model_counts(num_symbols: int, max_total: int, updates) -> list:
    """Counts of the specified adaptive model after `updates` (a list per step)."""
    counts, history = [1] * num_symbols, []
    for symbol in updates:
        if sum(counts) + 1 > max_total:
            counts = [(c + 1) // 2 for c in counts]
        counts[symbol] += 1
        history.append(list(counts))
    return history


def _ideal_bits(data: bytes, order: int, max_total: int = 2**16) -> float:
    """-log2 Q(data) under the specified adaptive order-k model (zero-padded contexts)."""
    padded = bytes(order) + data
    models = {}  # context -> [counts, total]
    bits = 0.0
    for i, symbol in enumerate(data):
        context = padded[i:i + order]
        model = models.get(context)
        if model is None:
            model = models[context] = [[1] * 256, 256]
        counts, total = model
        bits += math.log2(total / counts[symbol])
        if total + 1 > max_total:
            counts[:] = [(c + 1) // 2 for c in counts]
            total = sum(counts)
        counts[symbol] += 1
        model[1] = total + 1
    return bits


def _iid(weights, n: int, seed: int) -> bytes:
    return bytes(random.Random(seed).choices(range(len(weights)), weights=weights, k=n))


def _skewed_message(n: int, alphabet: bytes, seed: int) -> bytes:
    """n bytes from `alphabet` with Zipf-like probabilities 1, 1/2, 1/3, ..."""
    weights = [1 / (i + 1) for i in range(len(alphabet))]
    return bytes(random.Random(seed).choices(alphabet, weights=weights, k=n))


def _bytes_out(value, what: str) -> bytes:
    assert type(value) is bytes, f"{what} must return bytes (not bytearray, str or a list)"
    return value


def _round_trip(submission, data: bytes, order: int) -> bytes:
    blob = _bytes_out(submission.compress(data, order), "compress")
    out = _bytes_out(submission.decompress(blob), "decompress")
    assert out == data, (
        f"decompress(compress(data, order={order})) must give back the data exactly "
        f"(here {len(data)} bytes); check that the decoder rebuilds the same context models "
        "(same zero-padded context, update after decoding) as the encoder"
    )
    return blob


def _check_length(submission, data: bytes, order: int, blob: bytes, what: str) -> None:
    """The coded body must be within SLACK bytes of the model's ideal code length."""
    overhead = len(_bytes_out(submission.compress(b"", order), "compress"))
    ideal = _ideal_bits(data, order) / 8
    body = len(blob) - overhead
    assert body <= ideal + SLACK, (
        f"{what}: compress(data, order={order}) is longer than the ideal code length "
        "-log2 Q(data) of the specified adaptive model by more than a few bytes: check the "
        "model (counts start at 1, +1 after coding, halving at max_total=2**16), that each "
        "context has its own model, and that the coder does not waste bits"
    )
    assert body >= ideal - SLACK, (
        f"{what}: compress(data, order={order}) is shorter than the ideal code length of "
        "the specified model: compress must use exactly that model (Laplace counts starting "
        "at 1, +1 per byte, halving when the total would exceed 2**16)"
    )


def _cumulative(counts) -> list:
    return [0, *itertools.accumulate(counts)]


def _drive_coder(submission, counts, symbols, precision: int, what: str) -> bytes:
    """Encode `symbols` with a static model through the student's classes, decode, compare."""
    cum = _cumulative(counts)
    total = cum[-1]
    encoder = submission.ArithmeticEncoder(precision=precision)
    for s in symbols:
        encoder.encode(cum[s], cum[s + 1], total)
    code = _bytes_out(encoder.finish(), "ArithmeticEncoder.finish()")
    decoder = submission.ArithmeticDecoder(code, precision=precision)
    for i, s in enumerate(symbols):
        target = decoder.target(total)
        assert isinstance(target, int) and 0 <= target < total, (
            f"{what}: ArithmeticDecoder.target(total) must return an int in [0, total) "
            f"(symbol {i} of {len(symbols)}); the value must stay inside [low, high]"
        )
        got = bisect.bisect_right(cum, target) - 1
        assert got == s, (
            f"{what}: symbol {i} of {len(symbols)} decoded wrong (precision={precision}, "
            f"total={total}). Encoder and decoder must make the same integer updates; "
            "check the underflow (E3) rule and the pending bits, the decoder's target "
            "formula ((value - low + 1) * total - 1) // (high - low + 1), and that finish() "
            "outputs enough bits"
        )
        decoder.consume(cum[got], cum[got + 1], total)
    return code


def _expect_value_error(submission, blob: bytes, what: str) -> None:
    """decompress(blob) must raise ValueError; other exceptions reach the student as they are."""
    try:
        submission.decompress(blob)
    except ValueError:
        return
    raise AssertionError(
        f"decompress on {what} returned instead of raising ValueError: check the blob's "
        "length against the header's size, the magic bytes, and the CRC-32 of the decoded "
        "data against the header's"
    )


# ---------------------------------------------------------------- entropy


@pytest.mark.points(3)
def test_empirical_entropy_order0(submission):
    cases = [(b"aabb", 1.0), (bytes(range(256)), 8.0), (b"x" * 1000, 0.0), (b"", 0.0)]
    for data, expected in cases:
        h = submission.empirical_entropy(data, 0)
        assert isinstance(h, float), "empirical_entropy must return a Python float"
        assert abs(h - expected) < 1e-9, (
            "empirical_entropy(data, 0) must be -sum_a p(a) log2 p(a) with the frequencies "
            "p(a) = N(a) / n, in bits (log base 2); empty data has entropy 0.0"
        )
    for data in (_corpus()[:20000], _iid([50, 20, 10, 5, 1, 1, 13], 5000, seed=1)):
        assert abs(submission.empirical_entropy(data) - _entropy(data, 0)) < 1e-9, (
            "empirical_entropy(data) (order 0 by default) must be the plug-in entropy of the "
            "byte frequencies, in bits per byte"
        )


@pytest.mark.points(4)
def test_empirical_entropy_conditional(submission):
    text = _corpus()[40000:60000]
    rng = random.Random(7)
    markov = bytes(b"ab"[int(rng.random() < 0.1) ^ (i % 2)] for i in range(3000))  # mostly abab...
    for data in (text, markov, b"abracadabra" * 30):
        for order in (1, 2, 3):
            h = submission.empirical_entropy(data, order)
            assert isinstance(h, float), "empirical_entropy must return a Python float"
            assert abs(h - _entropy(data, order)) < 1e-9, (
                f"empirical_entropy(data, order={order}) must be the CONDITIONAL entropy of "
                "data[i] given data[i-k:i] over the positions i >= k: "
                "-(1/(n-k)) sum N(c,a) log2(N(c,a)/N(c)), where N(c) counts only contexts "
                "that are followed by a symbol (not the joint entropy of (k+1)-grams)"
            )
    for data, order in ((b"ab", 1), (b"abc", 3), (b"abc", 5), (b"", 2)):
        assert submission.empirical_entropy(data, order) == 0.0, (
            "with no position i >= k (len(data) <= order) the entropy is 0.0"
        )


# ---------------------------------------------------------------- adaptive model


def _intervals(model, num_symbols: int) -> list:
    return [tuple(model.interval(s)) for s in range(num_symbols)]


def _expected_intervals(counts) -> list:
    cum, total = _cumulative(counts), sum(counts)
    return [(cum[s], cum[s + 1], total) for s in range(len(counts))]


@pytest.mark.points(5)
def test_adaptive_model_counts_and_halving(submission, outcomes):
    _judged("model", _check_model_counts, submission, outcomes)


def _check_model_counts(submission):
    rng = random.Random(3)
    for num_symbols, max_total, steps in ((4, 16, 60), (5, 23, 80), (3, 9, 40)):
        model = submission.AdaptiveModel(num_symbols, max_total=max_total)
        assert _intervals(model, num_symbols) == _expected_intervals([1] * num_symbols), (
            "a new AdaptiveModel gives every symbol count 1: interval(s) = (s, s + 1, num_symbols)"
        )
        updates = [rng.choice([0, 0, 0, num_symbols - 1, rng.randrange(num_symbols)])
                   for _ in range(steps)]
        for step, (symbol, counts) in enumerate(zip(updates, _model_counts(num_symbols, max_total, updates))):
            model.update(symbol)
            assert _intervals(model, num_symbols) == _expected_intervals(counts), (
                f"after {step + 1} updates (num_symbols={num_symbols}, max_total={max_total}) "
                "interval(s) must be (sum of the counts of the smaller symbols, that + count(s), "
                "total). Counts grow by 1 per update; when total + 1 would exceed max_total, "
                "every count first becomes (c + 1) // 2 (never 0), then the symbol is counted"
            )
    model = submission.AdaptiveModel(256)  # the default max_total is 2**16
    for s in (0, 255, 97):
        assert tuple(model.interval(s)) == (s, s + 1, 256), (
            "AdaptiveModel(256).interval(s) must be (s, s + 1, 256) before any update"
        )
    for num_symbols, max_total in ((4, 4), (5, 3), (0, 8)):
        with pytest.raises(ValueError):
            submission.AdaptiveModel(num_symbols, max_total=max_total)


@pytest.mark.points(4)
def test_adaptive_model_find(submission, outcomes):
    _judged("model_find", _check_model_find, submission, outcomes)


def _check_model_find(submission):
    rng = random.Random(4)
    num_symbols, max_total = 6, 30
    updates = [rng.choice([1, 1, 2, 5, 5, 5, 0]) for _ in range(45)]  # crosses two halvings
    history = _model_counts(num_symbols, max_total, updates)
    counts_after = [[1] * num_symbols] + history  # counts after `step` updates
    model = submission.AdaptiveModel(num_symbols, max_total=max_total)
    for step in range(len(updates) + 1):
        if step:
            model.update(updates[step - 1])
        if step not in (0, 10, 24, 25, 45):  # 24 -> 25 is the first halving
            continue
        counts = counts_after[step]
        cum = _cumulative(counts)
        for target in range(cum[-1]):
            symbol = bisect.bisect_right(cum, target) - 1
            assert tuple(model.find(target)) == (symbol, cum[symbol], cum[symbol + 1]), (
                "find(target) must return (symbol, low, high) for the symbol with "
                "low <= target < high (the interval(symbol) gives): a target equal to a "
                "boundary low belongs to the symbol that starts there"
            )
    big = submission.AdaptiveModel(256)
    for s in [0, 0, 7, 255, 255, 255, 128, 3] * 5:
        big.update(s)
    counts = _model_counts(256, 2**16, [0, 0, 7, 255, 255, 255, 128, 3] * 5)[-1]
    cum = _cumulative(counts)
    for s in range(256):
        for target in {cum[s], cum[s + 1] - 1}:
            assert tuple(big.find(target)) == (s, cum[s], cum[s + 1]), (
                "find must agree with interval at the first and last target of every symbol "
                "(a 256-symbol model after some updates)"
            )


# ---------------------------------------------------------------- encoder and decoder


@pytest.mark.points(5)
@pytest.mark.time_limit(15)
def test_coder_static_model(submission, outcomes):
    _judged("coder_static", _check_coder_static, submission, outcomes)


def _check_coder_static(submission):
    counts = [1, 3, 10, 40, 200, 2000, 30000, 700, 5, 1]  # skewed, total < 2**16
    symbols = random.Random(5).choices(range(len(counts)), weights=counts, k=800)
    symbols[:4] = [0, 9, 0, 9]  # the rarest symbols at the start
    code = _drive_coder(submission, counts, symbols, 32, "static skewed model")
    total = sum(counts)
    ideal = sum(math.log2(total / counts[s]) for s in symbols)
    assert len(code) <= ideal / 8 + 6, (
        "with a static model the code must be within a few bytes of -log2 P(symbols): "
        "finish() should add only a couple of bits (plus the pending ones) and pad to a byte"
    )
    uniform = random.Random(6).choices(range(256), k=300)
    code = _drive_coder(submission, [1] * 256, uniform, 32, "uniform model over 256 symbols")
    assert len(code) <= 300 + 6, "300 uniform bytes must code to about 300 bytes"
    empty = _bytes_out(submission.ArithmeticEncoder().finish(), "ArithmeticEncoder.finish()")
    assert len(empty) <= 8, "finish() with no symbols must return only a few bytes"


@pytest.mark.points(5)
@pytest.mark.time_limit(15)
def test_coder_underflow_round_trip(submission, outcomes):
    _judged("coder_underflow", _check_coder_underflow, submission, outcomes)


def _check_coder_underflow(submission):
    # The likely middle symbol's interval is centred on 1/2: a run of it shrinks the
    # coder's interval around the midpoint, where no bit can be output. Without the E3
    # rule (pending bits) the interval ends up holding fewer integers than the total, and
    # the rare symbol that ends each run gets an empty interval.
    rare_after_runs = [16000, 1, 33534, 1, 16000]  # middle [16001, 49535) of 2**16
    symbols = []
    for run in range(12, 25):
        symbols += [2] * run + [1 if run % 2 else 3]
    _drive_coder(submission, rare_after_runs, symbols, 32,
                 "runs of a symbol straddling the midpoint, each followed by a rare symbol")
    middle = [1, 3, 1]  # long runs: many pending bits at once
    symbols = [1] * 60 + [0] + [1] * 45 + [2] + [1] * 70 + [0, 2, 1, 1] + [1] * 40
    _drive_coder(submission, middle, symbols, 32, "long runs of a symbol straddling the midpoint")
    near_half = [32767, 2, 32767]  # a tiny interval exactly around 1/2, total 2**16
    symbols = [1, 1, 1, 0, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 0, 2]
    _drive_coder(submission, near_half, symbols, 32, "tiny intervals around the midpoint")


@pytest.mark.points(5)
@pytest.mark.time_limit(15)
def test_coder_low_precision(submission, outcomes):
    _judged("coder_low_precision", _check_coder_low_precision, submission, outcomes)


def _check_coder_low_precision(submission):
    precision = 16  # totals up to 2**14: underflow and rounding matter at every step
    skewed = [16000, 300, 50, 20, 10, 3, 1]  # total 2**14
    symbols = random.Random(8).choices(range(len(skewed)), weights=[1000, 300, 50, 20, 10, 3, 1], k=600)
    _drive_coder(submission, skewed, symbols, precision, "precision 16, skewed model, total 2**14")
    odd = [5000, 6000, 5383]  # total 2**14 - 1
    symbols = random.Random(9).choices(range(3), k=300)
    _drive_coder(submission, odd, symbols, precision, "precision 16, three symbols, total 2**14 - 1")
    middle = [4000, 8384, 4000]
    symbols = [1] * 60 + [0] + [1] * 60 + [2] + [1] * 30
    _drive_coder(submission, middle, symbols, precision, "precision 16, runs around the midpoint")


# ---------------------------------------------------------------- compress / decompress
#
# compress and decompress are specified to run the student's own AdaptiveModel and
# ArithmeticEncoder/Decoder. Their tests therefore rebuild the expected stream (and the
# expected decoding) by driving the student's own classes symbol by symbol from here, with
# the specified contexts, update order and header: a bug in the model or the coder makes
# that expectation wrong in the same way, and costs points only in the model's and the
# coder's tests. The rejection tests decode blobs made here by the reference (bytes only):
# whatever the student's coder, a damaged blob must end in a ValueError.


def _header(data: bytes, order: int, length=None) -> bytes:
    return _HEADER.pack(b"FDLA", len(data) if length is None else length, order, zlib.crc32(data))


class _PartFailed(Exception):
    """The student's own model or coder returned something no correct one returns."""


def _own_body(submission, data: bytes, order: int) -> bytes:
    """The student's ArithmeticEncoder() driven by one student AdaptiveModel(256) per context
    (zero-padded), each byte coded with model.interval(byte) and only then counted."""
    padded = bytes(order) + data
    models = {}
    encoder = submission.ArithmeticEncoder()
    for i, symbol in enumerate(data):
        context = padded[i:i + order]
        model = models.get(context)
        if model is None:
            model = models[context] = submission.AdaptiveModel(256)
        low, high, total = model.interval(symbol)
        if not 0 <= low < high <= total <= 2**30:  # never fed to the student's encoder
            raise _PartFailed(f"interval({symbol}) = {(low, high, total)}")
        encoder.encode(low, high, total)
        model.update(symbol)
    return encoder.finish()


def _own_decode(submission, body: bytes, length: int, order: int) -> bytes:
    """The specified decoding loop run on the student's ArithmeticDecoder and AdaptiveModel."""
    decoder = submission.ArithmeticDecoder(body)
    out = bytearray(order)
    models = {}
    for i in range(length):
        context = bytes(out[i:i + order])
        model = models.get(context)
        if model is None:
            model = models[context] = submission.AdaptiveModel(256)
        total = model.interval(0)[2]
        target = decoder.target(total)
        if not 0 <= target < total:
            raise _PartFailed(f"target {target} outside [0, {total})")
        symbol, low, high = model.find(target)
        if not (0 <= symbol < 256 and 0 <= low <= target < high <= total):  # a decoder fed an
            raise _PartFailed(f"find({target}) = {(symbol, low, high)}")  # invalid one may loop
        decoder.consume(low, high, total)
        model.update(symbol)
        out.append(symbol)
    return bytes(out[order:])


def _small_messages() -> list:
    """(what, data, orders): short messages, cheap to rebuild symbol by symbol through the sandbox."""
    text = _corpus()[120000:120300]
    rng = random.Random(12)
    return [
        ("empty input", b"", (0, 1, 3)),
        ("one byte", b"\x00", (0, 2)),
        ("one byte 0xff", b"\xff", (0, 3)),
        ("all 256 byte values", bytes(range(256)), (0, 1)),
        ("alternating 0x00 0xff", b"\x00\xff" * 60, (1, 2)),
        ("300 bytes of text", text, (0, 1, 3)),
        ("200 random bytes", bytes(rng.randrange(256) for _ in range(200)), (2,)),
        ("a skewed message", _skewed_message(300, b"ACGT \n", seed=13), (0, 1)),
    ]


_HEADER_ERROR = (
    "the blob must start with HEADER.pack(MAGIC, len(data), order, zlib.crc32(data)) "
    "(17 bytes: magic b'FDLA', the length as a big-endian uint64, the order as one byte, "
    "the CRC-32 as a big-endian uint32)"
)


def _check_compress(submission):
    for what, data, orders in _small_messages():
        for order in orders:
            try:
                expected = _header(data, order) + _own_body(submission, data, order)
            except Exception:  # the student's own classes fail on this message
                with pytest.raises(Exception):
                    submission.compress(data, order)
                continue
            blob = _bytes_out(submission.compress(data, order), "compress")
            assert blob[:_HEADER.size] == expected[:_HEADER.size], f"{what}, order {order}: {_HEADER_ERROR}"
            assert blob == expected, (
                f"{what}, order {order}: after the header, compress must return exactly the "
                "bytes of ONE ArithmeticEncoder() (precision 32) that codes data[i] with "
                "encoder.encode(*model.interval(data[i])) and only then calls "
                "model.update(data[i]), where model is the AdaptiveModel(256) of the context "
                "(bytes(order) + data)[i:i + order] (one model per context, created when the "
                "context first occurs), and then encoder.finish(). This test rebuilds that "
                "stream with your own classes, so only compress itself is judged here"
            )
    for order in (-1, 256, 1000):
        with pytest.raises(ValueError):
            submission.compress(b"abc", order)


@pytest.mark.points(6)
@pytest.mark.time_limit(90)
def test_compress_codes_with_own_model_and_coder(submission, outcomes):
    _judged("compress", _check_compress, submission, outcomes)


def _check_decompress(submission):
    judged = 0
    for what, data, orders in _small_messages():
        for order in orders:
            try:
                body = _own_body(submission, data, order)
                decoded = _own_decode(submission, body, len(data), order)
            except Exception:
                continue  # the student's own classes cannot code this message: their tests say so
            judged += 1
            blob = _header(data, order) + body
            if decoded != data:  # the student's classes lose information: the CRC must catch it
                _expect_value_error(submission, blob, f"{what} (order {order}), which your own "
                                    "coder and model decode to other data")
                continue
            out = _bytes_out(submission.decompress(blob), "decompress")
            assert out == data, (
                f"{what}, order {order}: decompress must give back the data from a blob made "
                "with your own ArithmeticEncoder and AdaptiveModel classes exactly as the "
                "notebook specifies (this test checks that your classes decode it when driven "
                "correctly). Rebuild the same context models as compress: the context of byte "
                "i is (bytes(order) + decoded)[i:i + order], t = decoder.target(model.total), "
                "(symbol, low, high) = model.find(t), decoder.consume(low, high, model.total), "
                "then model.update(symbol)"
            )
    assert judged, (
        "decompress could not be judged: your ArithmeticEncoder, ArithmeticDecoder and "
        "AdaptiveModel raise on every message here, even the empty one; make them work first"
    )


@pytest.mark.points(5)
@pytest.mark.time_limit(120)
def test_decompress_decodes_own_stream(submission, outcomes):
    _judged("decompress", _check_decompress, submission, outcomes)


# Damaged blobs that the header alone rejects (too short, wrong magic) are judged always.
# Those that need decoding are judged only when the student's model and coder pass their
# own tests: a faulty find() or decoder fed garbage can loop for ever, a bug charged there.
_CODER_PARTS = ("model", "model_find", "coder_static", "coder_underflow", "coder_low_precision")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_decompress_rejects_truncated(submission, reference, outcomes):
    data = _corpus()[5000:6500]
    blob = reference.compress(data, 1)  # made here: the student's compress is not needed
    for length in range(0, _HEADER.size):
        _expect_value_error(submission, blob[:length], f"the first {length} of {len(blob)} bytes "
                            "(shorter than the header)")
    if not _parts_pass(submission, outcomes, _CODER_PARTS):
        return
    for length in list(range(_HEADER.size, 41)) + [len(blob) // 2, len(blob) - 10]:
        _expect_value_error(submission, blob[:length], f"the first {length} of {len(blob)} bytes")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
@pytest.mark.visibility("hidden")
def test_decompress_rejects_corrupted(submission, reference, outcomes):
    data = _corpus()[9000:11000]
    blob = reference.compress(data, 0)
    for position in range(4):
        bad_magic = blob[:position] + bytes([blob[position] ^ 0xFF]) + blob[position + 1:]
        _expect_value_error(submission, bad_magic, f"a blob whose magic byte {position} is changed")
    if not _parts_pass(submission, outcomes, _CODER_PARTS):
        return
    for position in (len(blob) // 2, len(blob) - 20):
        damaged = blob[:position] + bytes([blob[position] ^ 0x5A]) + blob[position + 1:]
        _expect_value_error(submission, damaged, f"a blob with byte {position} of the body changed")
    # A coded body under the header of another message that differs in its last byte only:
    # the body decodes without any trouble, and only the CRC-32 in the header can tell.
    other = data[:-1] + bytes([data[-1] ^ 1])
    spliced = _header(other, 0) + blob[_HEADER.size:]
    _expect_value_error(submission, spliced, "a valid body under the header of another message "
                        "(the header's CRC-32 does not match the decoded data)")


@pytest.mark.points(3)
@pytest.mark.time_limit(30)
@pytest.mark.visibility("after_due_date")
def test_decompress_bounds_its_reading(submission, reference, outcomes):
    data = _corpus()[13000:14000]
    blob = reference.compress(data, 1)
    body = blob[_HEADER.size:]
    if not _parts_pass(submission, outcomes, _CODER_PARTS):
        return
    for length, what in ((2**64 - 1, "the largest uint64"), (10**9, "10^9")):
        _expect_value_error(
            submission, _header(data, 1, length) + body,
            f"a blob whose length field says {what} bytes, for a body of {len(body)} bytes "
            "(decompress must stop with a ValueError once the decoder has read more than "
            "8 * len(body) + precision bits, and must not allocate the claimed length up "
            "front; a test time-out here means it kept decoding)")


# ---------------------------------------------------------------- the whole compressor
#
# Whole messages (up to 10^5 bytes, 30 random ones) cannot be rebuilt symbol by symbol
# through the sandbox. Their round trips are judged only when the student's model, coder,
# compress and decompress pass their own tests: a bug there is charged in those tests
# alone, and this test charges only what shows on long or random messages.

@pytest.fixture(scope="session")
def outcomes() -> dict:
    """name -> whether the student's part passed its check in this grading session
    (True, False, or "missing" for NotImplementedError)."""
    return {}


def _judged(name: str, check, submission, outcomes: dict) -> None:
    """Run a part's check, remember whether it passed, and let its failure through."""
    try:
        check(submission)
    except NotImplementedError:
        outcomes[name] = "missing"
        raise
    except BaseException:
        outcomes[name] = False
        raise
    outcomes[name] = True


def _parts_pass(submission, outcomes: dict, names=None) -> bool:
    """Whether the student's parts (all, or those named) pass their own tests' checks; a
    part not implemented yet (NotImplementedError) fails the calling test instead."""
    checks = {"model": _check_model_counts, "model_find": _check_model_find,
              "coder_static": _check_coder_static, "coder_underflow": _check_coder_underflow,
              "coder_low_precision": _check_coder_low_precision, "compress": _check_compress,
              "decompress": _check_decompress}
    for name, check in checks.items():
        if names is not None and name not in names:
            continue
        if name not in outcomes:
            try:
                check(submission)
                outcomes[name] = True
            except NotImplementedError:
                outcomes[name] = "missing"
            except Exception:
                outcomes[name] = False
        if outcomes[name] == "missing":  # nothing to judge with: the test fails, as the stub must
            raise AssertionError(f"this test needs your {_PART_NAMES[name]} to be implemented first")
        if not outcomes[name]:
            return False
    return True


_PART_NAMES = {"model": "AdaptiveModel", "model_find": "AdaptiveModel.find",
               "coder_static": "ArithmeticEncoder and ArithmeticDecoder",
               "coder_underflow": "ArithmeticEncoder and ArithmeticDecoder",
               "coder_low_precision": "ArithmeticEncoder and ArithmeticDecoder",
               "compress": "compress", "decompress": "decompress"}


@settings(database=None, deadline=None, max_examples=30, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@given(data=st.one_of(
    st.binary(max_size=64),
    st.integers(min_value=1, max_value=3000).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.builds(_skewed_message, n=st.integers(min_value=1, max_value=6000),
              alphabet=st.sampled_from([b"ab", b"\x00\x01\xff", b"ACGT \n", bytes(range(256))]),
              seed=st.integers(min_value=0, max_value=2**32 - 1))),
       order=st.integers(min_value=0, max_value=3))
def _collect_random_messages(found: list, data: bytes, order: int) -> None:
    found.append((data, order))


def _random_messages() -> list:
    """30 (data, order) examples drawn by Hypothesis, the same on every run.

    Student code runs outside Hypothesis, so a hanging call is stopped by the test's time
    limit (Hypothesis would replay a failing example without it), and nothing is shrunk.
    Hypothesis's files go to a temporary folder: no .hypothesis folder is left behind.
    """
    found = []
    with tempfile.TemporaryDirectory(prefix="hypothesis-") as home:
        set_hypothesis_home_dir(home)  # Hypothesis caches source constants even without a database
        try:
            _collect_random_messages(found)
        finally:
            set_hypothesis_home_dir(None)
    return found


@pytest.mark.points(3)
@pytest.mark.time_limit(180)
def test_whole_messages_round_trip_near_ideal_length(submission, outcomes):
    # The empty message needs neither model nor coder symbols: it is judged whatever the parts do.
    _round_trip(submission, b"", 0)
    if not _parts_pass(submission, outcomes):
        return  # the failing part's own test charges the bug (see the comment above)
    cases = [
        ("all 256 byte values backwards, 4 times", bytes(range(255, -1, -1)) * 4, (0, 1, 3)),
        ("alternating 0x00 0xff", b"\x00\xff" * 3000, (0, 1, 2)),
        ("one byte repeated 10^5 times (count halving)", b"\x07" * 100_000, (0, 3)),
        ("20 KB of text", _corpus()[150000:170000], (0, 1, 2)),
        ("20 KB of a skewed i.i.d. source", _iid([1, 2, 4, 8, 16, 32, 64, 128], 20000, seed=10), (0,)),
    ]
    cases += [(f"random input of {len(data)} bytes", data, (order,)) for data, order in _random_messages()]
    for what, data, orders in cases:
        for order in orders:
            blob = _round_trip(submission, data, order)
            if data:
                _check_length(submission, data, order, blob, what)


@pytest.mark.points(2)
@pytest.mark.slow
@pytest.mark.time_limit(60)
@pytest.mark.visibility("after_due_date")
def test_order_k_beats_order_0_on_text(submission, threshold):
    text = _corpus()[200000:300000]
    rate = {k: 8 * len(_bytes_out(submission.compress(text, k), "compress")) / len(text)
            for k in (0, 1, 2)}
    message = ("on 100 KB of English text an order-1 and an order-2 context model must code "
               "clearly better than order 0 (each context has its own AdaptiveModel, keyed by "
               "the previous k bytes)")
    threshold.at_least("order-1 gain over order 0 (bits per byte)", rate[0] - rate[1], 0.3, message)
    threshold.at_least("order-2 gain over order 0 (bits per byte)", rate[0] - rate[2], 0.2, message)


# ---------------------------------------------------------------- archivers


@pytest.mark.points(4)
def test_compare_with_archivers(submission):
    # 'entropy' and 'ours' are compared with the student's own empirical_entropy and
    # compress on the same data: their bugs cost points in their own tests only. Data on
    # which the student's compress raises cannot be judged (compare_with_archivers must
    # call it); the short message at the end is one that even a faulty coder can usually code.
    judged = 0
    for data in (_corpus()[300000:320000], _iid([30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 1], 20000, seed=11),
                 b"Hello, world! Compression is prediction."):
        try:
            ours = 8 * len(_bytes_out(submission.compress(data, 0), "compress")) / len(data)
        except Exception:
            continue
        judged += 1
        rates = submission.compare_with_archivers(data)
        assert isinstance(rates, dict) and set(rates) == {"entropy", "ours", "zlib", "bz2", "lzma"}, (
            "compare_with_archivers must return a dict with exactly the keys "
            "'entropy', 'ours', 'zlib', 'bz2', 'lzma'"
        )
        assert all(isinstance(v, float) for v in rates.values()), "every value must be a Python float"
        n = len(data)
        expected = {"zlib": 8 * len(zlib.compress(data, 9)) / n,
                    "bz2": 8 * len(bz2.compress(data, 9)) / n,
                    "lzma": 8 * len(lzma.compress(data, preset=6)) / n}
        for key, value in expected.items():
            assert abs(rates[key] - value) < 1e-9, (
                f"rates['{key}'] must be in bits per byte, 8 * len(compressed) / len(data), with "
                "zlib level 9, bz2 level 9 and lzma preset 6"
            )
        assert abs(rates["entropy"] - submission.empirical_entropy(data, 0)) < 1e-9, (
            "rates['entropy'] must be empirical_entropy(data, 0), the order-0 entropy in bits per byte"
        )
        assert abs(rates["ours"] - ours) < 1e-9, "rates['ours'] must be 8 * len(compress(data, 0)) / len(data)"
    assert judged, ("compare_with_archivers could not be judged: your compress raises on every "
                    "input here; make compress work first")
