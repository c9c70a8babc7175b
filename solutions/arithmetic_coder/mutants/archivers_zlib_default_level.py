"""compare_with_archivers calls zlib.compress(data) with the default level 6 instead of level 9."""
FAILS = ["test_compare_with_archivers"]
PATCH = [('        "zlib": 8 * len(zlib.compress(data, 9)) / n,\n',
          '        "zlib": 8 * len(zlib.compress(data)) / n,\n')]
