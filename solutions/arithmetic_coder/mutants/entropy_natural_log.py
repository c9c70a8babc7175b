"""Entropy in nats: math.log instead of math.log2."""
FAILS = ["test_empirical_entropy_order0", "test_empirical_entropy_conditional"]


def empirical_entropy(data, order=0):
    data = bytes(data)
    n = len(data) - order
    if n <= 0:
        return 0.0
    joint = Counter(data[i - order:i + 1] for i in range(order, len(data)))
    context = Counter()
    for window, count in joint.items():
        context[window[:-1]] += count
    return -sum(count * math.log(count / context[window[:-1]]) for window, count in joint.items()) / n
