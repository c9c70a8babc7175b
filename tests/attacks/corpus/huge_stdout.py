# Printing 200 MB to stdout.
# expect: 2 | must return the expected value || Time limit || crashed
def attack():
    line = "x" * 1000
    for _ in range(200_000):
        print(line)
    return 41
