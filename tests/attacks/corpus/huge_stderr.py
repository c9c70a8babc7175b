# Printing 200 MB to stderr.
# expect: 2 | must return the expected value || Time limit || crashed
import sys
def attack():
    line = "y" * 1000
    for _ in range(200_000):
        print(line, file=sys.stderr)
    return 41
