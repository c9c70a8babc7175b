"""Halving with c // 2: counts of 1 become 0, those symbols get empty intervals."""
FAILS = ["test_adaptive_model_counts_and_halving", "test_adaptive_model_find"]


class AdaptiveModel(AdaptiveModel):
    def update(self, symbol):
        if self.total + 1 > self.max_total:
            self.counts = [c // 2 for c in self.counts]
            self.total = sum(self.counts)
            self.tree[:] = [0] + self.counts
            for i in range(1, self.num_symbols + 1):
                parent = i + (i & -i)
                if parent <= self.num_symbols:
                    self.tree[parent] += self.tree[i]
        self.counts[symbol] += 1
        self.total += 1
        i = symbol + 1
        while i <= self.num_symbols:
            self.tree[i] += 1
            i += i & -i
