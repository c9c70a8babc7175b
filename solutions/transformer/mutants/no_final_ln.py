"""GPT defines its final LayerNorm ln_f but never applies it: the head reads the raw residual stream."""
FAILS = ["test_gpt_final_layernorm"]
PATCH = [("        logits = self.lm_head(self.ln_f(x))  # (B, T, V)\n",
          "        logits = self.lm_head(x)  # (B, T, V), ln_f forgotten\n")]
