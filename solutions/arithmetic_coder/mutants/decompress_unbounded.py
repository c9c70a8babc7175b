"""decompress has no bound on the bits the decoder reads: a corrupted length field makes it decode zeros for ever."""
FAILS = ["test_decompress_bounds_its_reading"]
PATCH = [("        if decoder.position > max_bits:\n"
          "            raise ValueError(\"corrupted blob: the decoder ran past the end of the data\")\n", "")]
