"""compare_with_archivers reports compressed bytes per byte (the ratio) instead of bits per byte."""
FAILS = ["test_compare_with_archivers"]


def compare_with_archivers(data):
    n = len(data)
    return {
        "entropy": empirical_entropy(data, 0),
        "ours": len(compress(data, 0)) / n,
        "zlib": len(zlib.compress(data, 9)) / n,
        "bz2": len(bz2.compress(data, 9)) / n,
        "lzma": len(lzma.compress(data, preset=6)) / n,
    }
