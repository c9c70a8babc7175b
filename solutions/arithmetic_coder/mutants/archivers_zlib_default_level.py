"""compare_with_archivers calls zlib.compress(data) with the default level 6 instead of level 9."""
FAILS = ["test_compare_with_archivers"]


def compare_with_archivers(data):
    n = len(data)
    return {
        "entropy": empirical_entropy(data, 0),
        "ours": 8 * len(compress(data, 0)) / n,
        "zlib": 8 * len(zlib.compress(data)) / n,
        "bz2": 8 * len(bz2.compress(data, 9)) / n,
        "lzma": 8 * len(lzma.compress(data, preset=6)) / n,
    }
