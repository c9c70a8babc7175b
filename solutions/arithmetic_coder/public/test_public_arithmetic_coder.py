"""Public tests of the `arithmetic_coder` module: quick sanity checks.

They carry no points. Passing them does not mean full marks: the hidden suite checks
exact round trips on hard inputs (underflow, low precision, long and random inputs),
code lengths against the ideal code length of the specified model, count halving, and
clean failures on damaged input.
"""
import pytest


@pytest.mark.points(0)
def test_public_entropy_small_cases(submission):
    assert abs(submission.empirical_entropy(b"aabb") - 1.0) < 1e-9, (
        "two equally frequent symbols have an entropy of 1 bit"
    )
    assert abs(submission.empirical_entropy(bytes(range(256))) - 8.0) < 1e-9, (
        "256 equally frequent bytes have an entropy of 8 bits"
    )
    assert submission.empirical_entropy(b"abababab", 1) == 0.0, (
        "in 'abab...' the next byte is determined by the previous one: H_1 = 0"
    )
    assert submission.empirical_entropy(b"") == 0.0, "empty data has entropy 0.0"


@pytest.mark.points(0)
def test_public_model_starts_uniform(submission):
    model = submission.AdaptiveModel(4)
    assert tuple(model.interval(2)) == (2, 3, 4), "every count starts at 1: interval(2) = (2, 3, 4)"
    model.update(2)
    assert tuple(model.interval(3)) == (4, 5, 5), "after update(2) symbol 2 has count 2"
    assert tuple(model.find(3)) == (2, 2, 4), "find(3) must return symbol 2 with its [low, high)"


@pytest.mark.points(0)
def test_public_coder_round_trip(submission):
    cumulative, total = [0, 6, 9, 10], 10  # a static model: counts 6, 3, 1
    symbols = [0, 1, 0, 2, 0, 0, 1, 2, 2, 0] * 5
    encoder = submission.ArithmeticEncoder()
    for s in symbols:
        encoder.encode(cumulative[s], cumulative[s + 1], total)
    code = encoder.finish()
    assert type(code) is bytes, "finish() must return bytes"
    decoder = submission.ArithmeticDecoder(code)
    decoded = []
    for _ in symbols:
        t = decoder.target(total)
        s = max(a for a in range(3) if cumulative[a] <= t)
        decoder.consume(cumulative[s], cumulative[s + 1], total)
        decoded.append(s)
    assert decoded == symbols, "the decoder must give back the encoded symbols"


@pytest.mark.points(0)
def test_public_compress_round_trip(submission):
    data = b"abracadabra, abracadabra!" * 20
    for order in (0, 1, 2):
        blob = submission.compress(data, order)
        assert type(blob) is bytes and len(blob) < len(data), "compress must return shorter bytes here"
        assert submission.decompress(blob) == data, f"decompress must invert compress (order {order})"
    with pytest.raises(ValueError):
        submission.decompress(b"")


@pytest.mark.points(0)
def test_public_compare_keys(submission):
    rates = submission.compare_with_archivers(b"hello world, hello world" * 50)
    assert set(rates) == {"entropy", "ours", "zlib", "bz2", "lzma"}, (
        "compare_with_archivers must return the keys entropy, ours, zlib, bz2, lzma"
    )
