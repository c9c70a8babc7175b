"""The order is stored in the header but every byte is coded with one order-0 model (the context is never used).

The bug is in both functions (compress and decompress each drop the context), so the test
of each loses points.
"""
FAILS = ["test_compress_codes_with_own_model_and_coder", "test_decompress_decodes_own_stream"]


def compress(data, order=0):
    data = bytes(data)
    if not 0 <= order <= 255:
        raise ValueError("order must be in [0, 255]")
    model = AdaptiveModel(256)
    encoder = ArithmeticEncoder()
    for symbol in data:
        encoder.encode(*model.interval(symbol))
        model.update(symbol)
    return HEADER.pack(MAGIC, len(data), order, zlib.crc32(data)) + encoder.finish()


def decompress(blob):
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise ValueError("too short")
    magic, length, order, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("wrong magic")
    body = blob[HEADER.size:]
    decoder = ArithmeticDecoder(body)
    model = AdaptiveModel(256)
    out = bytearray()
    for _ in range(length):
        symbol, low, high = model.find(decoder.target(model.total))
        decoder.consume(low, high, model.total)
        model.update(symbol)
        out.append(symbol)
        if decoder.position > 8 * len(body) + decoder.precision:
            raise ValueError("ran past the end of the data")
    if zlib.crc32(bytes(out)) != crc:
        raise ValueError("CRC mismatch")
    return bytes(out)
