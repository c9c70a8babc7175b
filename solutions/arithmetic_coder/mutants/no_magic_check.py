"""decompress reads the magic bytes but never compares them with MAGIC."""
FAILS = ["test_decompress_rejects_corrupted"]


def decompress(blob):
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise ValueError("too short")
    _, length, order, crc = HEADER.unpack_from(blob)
    decoder = ArithmeticDecoder(blob[HEADER.size:])
    out = bytearray(order)
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
    data = bytes(out[order:])
    if zlib.crc32(data) != crc:
        raise ValueError("CRC mismatch")
    return data
