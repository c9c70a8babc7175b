"""GPT accepts dropout but never passes it on (blocks built without it, embedding dropout 0): train mode is deterministic."""
FAILS = ["test_dropout_train_and_eval"]
PATCH = [("[TransformerBlock(d_model, n_heads, 4 * d_model, dropout) for _ in range(n_layers)]",
          "[TransformerBlock(d_model, n_heads, 4 * d_model) for _ in range(n_layers)]"),
         ("        self.drop = nn.Dropout(dropout)\n", "        self.drop = nn.Dropout(0.0)\n")]
