"""generate calls torch.topk(logits, top_k) unclamped: it crashes when top_k exceeds the vocabulary instead of not filtering."""
FAILS = ["test_generate_top_k_above_vocab"]
PATCH = [("torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1)", "torch.topk(logits, top_k, dim=-1)")]
