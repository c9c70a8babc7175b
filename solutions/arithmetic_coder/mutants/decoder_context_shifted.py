"""decompress builds the context one byte too early (bytes i-k-1 .. i-2), unlike compress."""
FAILS = ["test_round_trip_edge_cases", "test_round_trip_random_bytes"]


def decompress(blob):
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise ValueError("too short")
    magic, length, order, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("wrong magic")
    decoder = ArithmeticDecoder(blob[HEADER.size:])
    out = bytearray(order + 1)
    models = {}
    for i in range(length):
        context = bytes(out[i:i + order])
        model = models.get(context)
        if model is None:
            model = models[context] = AdaptiveModel(256)
        symbol, low, high = model.find(decoder.target(model.total))
        decoder.consume(low, high, model.total)
        model.update(symbol)
        out.append(symbol)
    data = bytes(out[order + 1:])
    if zlib.crc32(data) != crc:
        raise ValueError("CRC mismatch")
    return data
