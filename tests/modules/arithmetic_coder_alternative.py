"""A correct `arithmetic_coder` submission written differently from the reference.

The hidden suite must give it full marks. Where the reference keeps an inclusive
interval [low, high], this coder keeps a half-open one [low, high); it finishes by
writing out all `precision` bits of `low` instead of two bits; its bits are packed
byte by byte as they come; the decoder reads bits from a generator. The model is the naive one:
plain lists, O(K) `sum` and a linear `find` (the slow kind of student solution the time
limits must allow). The header is packed by hand instead of with `struct`, and the
decoder counts the bits it reads itself for the bound on a corrupted length. The entropy
groups the positions by context.
"""
import bz2
import lzma
import math
import zlib
from collections import defaultdict


def empirical_entropy(data, order=0):
    """Average over contexts of the entropy of the next-symbol distribution."""
    followers = defaultdict(lambda: defaultdict(int))  # context -> symbol -> count
    for i in range(order, len(data)):
        followers[bytes(data[i - order:i])][data[i]] += 1
    n = max(len(data) - order, 0)
    if n == 0:
        return 0.0
    total_bits = 0.0
    for next_counts in followers.values():
        m = sum(next_counts.values())
        total_bits += m * -sum(c / m * math.log2(c / m) for c in next_counts.values())
    return float(total_bits / n)


class ArithmeticEncoder:
    """Half-open interval [low, high) of precision-bit integers."""

    def __init__(self, precision=32):
        self.precision = precision
        self.full = 1 << precision
        self.low, self.high = 0, self.full
        self.pending = 0
        self.out = bytearray()  # finished bytes
        self.byte, self.nbits = 0, 0  # the byte being filled and its number of bits

    def _put(self, bit):
        self.byte = (self.byte << 1) | bit
        self.nbits += 1
        if self.nbits == 8:
            self.out.append(self.byte)
            self.byte, self.nbits = 0, 0

    def _put_with_pending(self, bit):
        self._put(bit)
        for _ in range(self.pending):
            self._put(bit ^ 1)
        self.pending = 0

    def encode(self, low, high, total):
        span = self.high - self.low
        self.low, self.high = self.low + span * low // total, self.low + span * high // total
        half, quarter = self.full // 2, self.full // 4
        while True:
            if self.high <= half:
                self._put_with_pending(0)
            elif self.low >= half:
                self._put_with_pending(1)
                self.low, self.high = self.low - half, self.high - half
            elif quarter <= self.low and self.high <= 3 * quarter:
                self.pending += 1
                self.low, self.high = self.low - quarter, self.high - quarter
            else:
                return
            self.low, self.high = 2 * self.low, 2 * self.high

    def finish(self):
        # write low itself: low followed by zeros lies in [low, high)
        for i in reversed(range(self.precision)):
            bit = (self.low >> i) & 1
            if i == self.precision - 1:
                self._put_with_pending(bit)
            else:
                self._put(bit)
        if self.nbits:
            self.out.append(self.byte << (8 - self.nbits))
        return bytes(self.out)


def _bit_stream(data):
    for byte in data:
        for shift in range(7, -1, -1):
            yield (byte >> shift) & 1
    while True:
        yield 0


class ArithmeticDecoder:
    def __init__(self, data, precision=32):
        self.precision = precision
        self.full = 1 << precision
        self.bits = _bit_stream(bytes(data))
        self.bits_read = 0
        self.low, self.high = 0, self.full
        self.value = 0
        for _ in range(precision):
            self.value = (self.value << 1) | self._next()

    def _next(self):
        self.bits_read += 1
        return next(self.bits)

    def target(self, total):
        return ((self.value - self.low + 1) * total - 1) // (self.high - self.low)

    def consume(self, low, high, total):
        span = self.high - self.low
        self.low, self.high = self.low + span * low // total, self.low + span * high // total
        half, quarter = self.full // 2, self.full // 4
        while True:
            if self.high <= half:
                offset = 0
            elif self.low >= half:
                offset = half
            elif quarter <= self.low and self.high <= 3 * quarter:
                offset = quarter
            else:
                return
            self.low, self.high = 2 * (self.low - offset), 2 * (self.high - offset)
            self.value = 2 * (self.value - offset) + self._next()


class AdaptiveModel:
    """Plain lists: O(K) per call."""

    def __init__(self, num_symbols, max_total=2**16):
        if num_symbols < 1 or num_symbols >= max_total:
            raise ValueError("an alphabet of K symbols needs 1 <= K < max_total")
        self.max_total = max_total
        self.counts = [1 for _ in range(num_symbols)]

    @property
    def total(self):
        return sum(self.counts)

    def interval(self, symbol):
        low = sum(self.counts[:symbol])
        return low, low + self.counts[symbol], self.total

    def find(self, target):
        low = 0
        for symbol, count in enumerate(self.counts):
            if low <= target < low + count:
                return symbol, low, low + count
            low += count
        raise ValueError("target outside [0, total)")

    def update(self, symbol):
        if self.total >= self.max_total:
            self.counts = [c - c // 2 for c in self.counts]  # ceil(c / 2)
        self.counts[symbol] += 1


_MAGIC = b"FDLA"  # the notebook's locked file format, written out by hand
_HEADER_SIZE = 4 + 8 + 1 + 4


def _header(length, order, crc):
    return _MAGIC + length.to_bytes(8, "big") + bytes([order]) + crc.to_bytes(4, "big")


def _model_for(models, context):
    if context not in models:
        models[context] = AdaptiveModel(256)
    return models[context]


def compress(data, order=0):
    data = bytes(data)
    if order not in range(256):
        raise ValueError("order must be a byte")
    history = b"\x00" * order + data  # zero padding, sliced per position
    models = {}
    encoder = ArithmeticEncoder()
    for i, symbol in enumerate(data):
        model = _model_for(models, history[i:i + order])
        encoder.encode(*model.interval(symbol))
        model.update(symbol)
    return _header(len(data), order, zlib.crc32(data)) + encoder.finish()


def decompress(blob):
    blob = bytes(blob)
    if len(blob) < _HEADER_SIZE or blob[:4] != _MAGIC:
        raise ValueError("not one of our blobs")
    length = int.from_bytes(blob[4:12], "big")
    order, crc = blob[12], int.from_bytes(blob[13:17], "big")
    body = blob[_HEADER_SIZE:]
    decoder = ArithmeticDecoder(body)
    budget = 8 * len(body) + decoder.precision  # bits a valid stream can make the decoder read
    history = bytearray(order)
    models = {}
    for i in range(length):
        model = _model_for(models, bytes(history[i:i + order]))
        symbol, low, high = model.find(decoder.target(model.total))
        decoder.consume(low, high, model.total)
        model.update(symbol)
        history.append(symbol)
        if decoder.bits_read > budget:
            raise ValueError("length field larger than the coded data")
    out = bytes(history[order:])
    if zlib.crc32(out) != crc:
        raise ValueError("CRC-32 mismatch")
    return out


def compare_with_archivers(data):
    sizes = {
        "ours": len(compress(data)),
        "zlib": len(zlib.compress(data, level=9)),
        "bz2": len(bz2.compress(data, compresslevel=9)),
        "lzma": len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=6)),
    }
    rates = {"entropy": empirical_entropy(data)}
    rates.update({key: size * 8.0 / len(data) for key, size in sizes.items()})
    return rates
