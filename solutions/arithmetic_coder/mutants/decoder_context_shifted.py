"""decompress builds the context one byte too early (bytes i-k-1 .. i-2), unlike compress."""
FAILS = ["test_decompress_decodes_own_stream"]
PATCH = [("    out = bytearray(order)  # zero padding, then the decoded bytes\n",
          "    out = bytearray(order + 1)  # wrong: one byte of padding too many\n"),
         ("    data = bytes(out[order:])\n", "    data = bytes(out[order + 1:])\n")]
