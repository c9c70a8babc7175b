"""No underflow (E3) rule: an interval straddling the midpoint shrinks until symbols get empty intervals."""
FAILS = ["test_coder_underflow_round_trip", "test_coder_low_precision"]


class ArithmeticEncoder(ArithmeticEncoder):
    def encode(self, low, high, total):
        width = self.high - self.low + 1
        self.high = self.low + width * high // total - 1
        self.low = self.low + width * low // total
        while True:
            if self.high < self.half:
                self._emit(0)
            elif self.low >= self.half:
                self._emit(1)
                self.low -= self.half
                self.high -= self.half
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1


class ArithmeticDecoder(ArithmeticDecoder):
    def consume(self, low, high, total):
        width = self.high - self.low + 1
        self.high = self.low + width * high // total - 1
        self.low = self.low + width * low // total
        while True:
            if self.high < self.half:
                pass
            elif self.low >= self.half:
                self.low -= self.half
                self.high -= self.half
                self.value -= self.half
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1
            self.value = 2 * self.value + self._read_bit()
