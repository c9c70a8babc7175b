"""decompress unpacks the header without checking the blob's length: a short blob raises struct.error."""
FAILS = ["test_decompress_rejects_truncated"]


def decompress(blob):
    blob = bytes(blob)
    magic, length, order, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("wrong magic")
    body = blob[HEADER.size:]
    decoder = ArithmeticDecoder(body)
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
        if decoder.position > 8 * len(body) + decoder.precision:
            raise ValueError("ran past the end")
    data = bytes(out[order:])
    if zlib.crc32(data) != crc:
        raise ValueError("CRC mismatch")
    return data
