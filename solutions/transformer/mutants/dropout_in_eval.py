"""GPT applies embedding dropout with F.dropout(x, p), whose training=True default keeps it on in eval mode."""
FAILS = ["test_dropout_train_and_eval"]
PATCH = [("        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, d_model)\n",
          "        x = F.dropout(self.tok_emb(idx) + self.pos_emb(pos), self.drop.p)  # always on\n")]
