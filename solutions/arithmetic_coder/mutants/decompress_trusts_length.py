"""decompress allocates the output at the header's length up front: a corrupted length field raises OverflowError or MemoryError, not ValueError."""
FAILS = ["test_decompress_bounds_its_reading"]


def decompress(blob):
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise ValueError("too short")
    magic, length, order, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("wrong magic")
    body = blob[HEADER.size:]
    decoder = ArithmeticDecoder(body)
    max_bits = 8 * len(body) + decoder.precision
    out = bytearray(order + length)  # zero padding, then room for every decoded byte
    models = {}
    for i in range(length):
        context = bytes(out[i:i + order])
        model = models.get(context)
        if model is None:
            model = models[context] = AdaptiveModel(256)
        symbol, low, high = model.find(decoder.target(model.total))
        decoder.consume(low, high, model.total)
        model.update(symbol)
        out[order + i] = symbol
        if decoder.position > max_bits:
            raise ValueError("corrupted blob: the decoder ran past the end of the data")
    data = bytes(out[order:])
    if zlib.crc32(data) != crc:
        raise ValueError("CRC mismatch")
    return data
