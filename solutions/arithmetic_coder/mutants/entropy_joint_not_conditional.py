"""Order-k entropy computed as the entropy of the (k+1)-grams (joint), not conditional on the context."""
FAILS = ["test_empirical_entropy_conditional"]


def empirical_entropy(data, order=0):
    data = bytes(data)
    n = len(data) - order
    if n <= 0:
        return 0.0
    joint = Counter(data[i - order:i + 1] for i in range(order, len(data)))
    return -sum(c / n * math.log2(c / n) for c in joint.values())
