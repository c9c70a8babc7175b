"""interval(symbol) sums the counts up to and including the symbol for its low end."""
FAILS = ["test_adaptive_model_counts_and_halving", "test_adaptive_model_find"]


class AdaptiveModel(AdaptiveModel):
    def interval(self, symbol):
        low = sum(self.counts[:symbol + 1])
        return low, low + self.counts[symbol], self.total

    def find(self, target):
        low = 0
        for symbol, count in enumerate(self.counts):
            low += count
            if target < low + count:
                return symbol, low, low + count
        raise ValueError("target out of range")
