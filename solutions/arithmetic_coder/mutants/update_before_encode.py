"""compress updates the model before coding the byte; the decoder cannot do the same (it needs the byte first)."""
FAILS = ["test_compress_codes_with_own_model_and_coder"]


def compress(data, order=0):
    data = bytes(data)
    padded = bytes(order) + data
    models = {}
    encoder = ArithmeticEncoder()
    for i, symbol in enumerate(data):
        context = padded[i:i + order]
        model = models.get(context)
        if model is None:
            model = models[context] = AdaptiveModel(256)
        model.update(symbol)
        encoder.encode(*model.interval(symbol))
    return HEADER.pack(MAGIC, len(data), order, zlib.crc32(data)) + encoder.finish()
