"""decompress never compares the CRC-32: a corrupted body decodes to garbage without an error."""
FAILS = ["test_decompress_rejects_corrupted"]
PATCH = [("    if zlib.crc32(data) != crc:\n        raise ValueError(\"corrupted blob: CRC-32 mismatch\")\n",
          "")]
