"""compress never checks the order: 256 reaches HEADER.pack (struct.error), -1 reaches bytes(-1)."""
FAILS = ["test_compress_codes_with_own_model_and_coder"]
PATCH = [("    if not 0 <= order <= 255:\n        raise ValueError(f\"order must be in [0, 255], got {order}\")\n", "")]
