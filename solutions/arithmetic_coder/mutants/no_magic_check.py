"""decompress reads the magic bytes but never compares them with MAGIC."""
FAILS = ["test_decompress_rejects_corrupted"]
PATCH = [("    if magic != MAGIC:\n        raise ValueError(\"not a compressed blob: wrong magic bytes\")\n", "")]
