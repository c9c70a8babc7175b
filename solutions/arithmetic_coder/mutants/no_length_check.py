"""decompress unpacks the header without checking the blob's length: a short blob raises struct.error."""
FAILS = ["test_decompress_rejects_truncated"]
PATCH = [("    if len(blob) < HEADER.size:\n"
          "        raise ValueError(f\"not a compressed blob: {len(blob)} bytes, shorter than the header\")\n",
          "")]
