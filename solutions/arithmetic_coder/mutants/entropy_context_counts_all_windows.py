"""N(c) counted over every k-window of the data, including the last one that no symbol follows."""
FAILS = ["test_empirical_entropy_order0", "test_empirical_entropy_conditional"]


def empirical_entropy(data, order=0):
    data = bytes(data)
    n = len(data) - order
    if n <= 0:
        return 0.0
    joint = Counter(data[i - order:i + 1] for i in range(order, len(data)))
    context = Counter(data[i:i + order] for i in range(len(data) - order + 1))
    return -sum(c * math.log2(c / context[w[:-1]]) for w, c in joint.items()) / n
